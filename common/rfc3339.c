/* rfc3339: strict RFC 3339 parsing (see rfc3339.h). Calendar arithmetic
 * after Howard Hinnant's days_from_civil/civil_from_days, so no timegm(),
 * no struct tm and no dependency on the local time zone. */
#include <errno.h>
#include <stdbool.h>

#include "common/rfc3339.h"

int64_t rfc3339_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void rfc3339_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* n decimal digits at s into *out; false if any is not a digit. */
static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };
	bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

	return mdays[m - 1] + (m == 2 && leap);
}

int rfc3339_parse(const char *s, size_t n, int64_t *secs, uint32_t *nsec)
{
	unsigned Y, M, D, h, mi, sec, oh = 0, om = 0, frac = 0, nfrac = 0;
	int64_t t;
	size_t i = 19;
	int sign = 0;

	if (!s || n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	if (!digits(s, 4, &Y) || !digits(s + 5, 2, &M) ||
	    !digits(s + 8, 2, &D) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return -EINVAL;
	if (s[i] == '.' || s[i] == ',') {
		size_t start = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (nfrac < 9) {
				frac = frac * 10 + (unsigned)(s[i] - '0');
				nfrac++;
			}
			i++;
		}
		if (i == start)
			return -EINVAL;
		for (; nfrac < 9; nfrac++)
			frac *= 10;
	}
	if (i < n && s[i] == 'Z') {
		i++;
	} else if (i + 6 <= n && (s[i] == '+' || s[i] == '-') &&
		   s[i + 3] == ':') {
		sign = s[i] == '-' ? -1 : 1;
		if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		i += 6;
	} else {
		return -EINVAL;
	}
	if (i != n || M < 1 || M > 12 || D < 1 || D > month_days(Y, M) ||
	    h > 23 || mi > 59 || sec > 59)
		return -EINVAL;
	t = rfc3339_days_from_civil(Y, M, D) * 86400 +
	    (int64_t)(h * 3600 + mi * 60 + sec);
	*secs = t - sign * (int64_t)(oh * 3600 + om * 60);
	if (nsec)
		*nsec = frac;
	return 0;
}
