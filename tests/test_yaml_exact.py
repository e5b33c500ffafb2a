"""Exactness of render_yaml(): parsing the YAML gives back the JSON's value.

Runs the built ``yaml-render`` CLI ($VELEROFS_BUILD/backup/yaml-render, or
tests/unit/yaml-render; VELEROFS_BUILD defaults to ``build/`` under the
repo root, a relative one is taken from the repo root) over the golden
inputs, every JSON document in ../shared/velero-samples (files and members
of the tarballs) and a few thousand seeded random documents full of
YAML-special strings, and checks the output with three parsers:

* PyYAML's pure-Python SafeLoader (YAML 1.1),
* PyYAML's CSafeLoader (libyaml, the parser Go's yaml packages descend
  from), when PyYAML was built with it,
* ruamel.yaml, ``YAML(typ='safe', pure=True)`` (YAML 1.2).

Values are compared strictly: bool is not int, int is not float, -0.0 is not
0.0, NaN equals NaN. Plus: strings known to be plain must not be quoted.
"""

import json
import random
import subprocess
import tarfile

import pytest
import yaml
from ruamel.yaml import YAML

import util
from util import SAMPLES, same

GOLDEN = util.REPO / "tests" / "data" / "yaml"


def _binary_path():
    # meson puts it in tests/ (tests/meson.build); tests/unit/ also works
    for rel in (("backup", "yaml-render"), ("tests", "yaml-render"), ("tests", "unit", "yaml-render")):
        p = util.build_dir().joinpath(*rel)
        if p.exists():
            return p
    return util.build_dir() / "backup" / "yaml-render"


BINARY = _binary_path()

_ruamel = YAML(typ="safe", pure=True)
_ruamel.allow_duplicate_keys = True  # keeps the first value, see below


# --------------------------------------------------------------------------
# helpers


@pytest.fixture(scope="session", autouse=True)
def _binary():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} not built (set VELEROFS_BUILD)")


def render(data: bytes, *args):
    p = subprocess.run([str(BINARY), *args], input=data, capture_output=True,
                       timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    # a sanitizer build exits 1 too: don't take its report for a rejection
    assert "Sanitizer" not in err and "runtime error:" not in err, err
    return p.returncode, p.stdout, err


def _last_wins(pairs):
    return dict(pairs)


def _first_wins(pairs):
    d = {}
    for k, v in pairs:
        d.setdefault(k, v)
    return d


def loaders():
    out = [("pyyaml", lambda s: yaml.load(s, Loader=yaml.SafeLoader), False),
           ("ruamel", _ruamel.load, True)]
    if getattr(yaml, "CSafeLoader", None):
        out.append(("libyaml",
                    lambda s: yaml.load(s, Loader=yaml.CSafeLoader), False))
    return out


def check_roundtrip(text: bytes, where: str):
    """Renders text; asserts every parser reads the JSON's value back."""
    try:
        want_last = json.loads(text, object_pairs_hook=_last_wins)
        want_first = json.loads(text, object_pairs_hook=_first_wins)
    except (ValueError, RecursionError):
        rc, out, err = render(text)
        assert rc == 1, f"{where}: invalid JSON accepted"
        return None
    rc, out, err = render(text)
    assert rc == 0, f"{where}: rejected: {err}"
    assert out.endswith(b"\n"), f"{where}: no final newline"
    s = out.decode("utf-8")  # never invalid UTF-8
    for name, load, first in loaders():
        try:
            got = load(s)
        except Exception as ex:  # noqa: BLE001 - report any parser error
            pytest.fail(f"{where}: {name} failed: {ex}\n--- yaml:\n{s[:3000]}")
        d = same(want_first if first else want_last, got)
        assert d is None, f"{where}: {name}: {d}\n--- yaml:\n{s[:3000]}"
    return s


# --------------------------------------------------------------------------
# golden inputs and shared samples


def golden_cases():
    return sorted(p.name for p in GOLDEN.iterdir() if (p / "input.json")
                  .exists()) if GOLDEN.exists() else []


@pytest.mark.parametrize("case", golden_cases())
def test_golden_roundtrip(case):
    d = GOLDEN / case
    s = check_roundtrip((d / "input.json").read_bytes(), case)
    exp = d / "expected.yaml"
    if s is not None and exp.exists():
        assert s == exp.read_text(encoding="utf-8"), case


def test_enough_golden_cases():
    assert len(golden_cases()) >= 25


def sample_docs():
    docs = []
    if not SAMPLES.exists():
        return docs
    for p in sorted(SAMPLES.rglob("*")):
        if not p.is_file():
            continue
        rel = str(p.relative_to(SAMPLES))
        if p.name.endswith(".json"):
            docs.append((rel, p.read_bytes()))
        elif p.name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(p) as tf:
                for m in tf.getmembers():
                    if m.isfile() and m.name.endswith(".json"):
                        docs.append((f"{rel}:{m.name}",
                                     tf.extractfile(m).read()))
    return docs


def test_shared_samples():
    docs = sample_docs()
    if not docs:
        pytest.skip(f"no samples under {SAMPLES}")
    for where, data in docs:
        check_roundtrip(data, where)


# --------------------------------------------------------------------------
# strings that must stay plain, and strings that must not


KNOWN_PLAIN = [
    "nginx:1.25", "app.kubernetes.io/name", "1.2.3", "v1", "10Gi", "100m",
    "http://x/y?a=b", "Deployment", "3scale-operator", "a b", "a,b",
    "foo[0]", "--leader-elect", "-Xmx512m", ".dockerconfigjson",
    "k8s.gcr.io/pause:3.9", "sha256:0123abcd", "10.0.0.1/24", "25%",
    "a=b", "~/foo", "nullable", "yesterday", "onion", "n/a", "N/A",
    "true-ish", "café", "日本語", "😀", "a'b", 'say "hi"', "a#b", "a:b",
    "RollingUpdate", "IfNotPresent", "ClusterIP", "TCP", "0.1.2",
    "2024-01-02x", "1e", "e3", "0b", "0x", "1.2.3.4", "a\u00a0b",
    "kubectl.kubernetes.io/last-applied-configuration", "Always",
    "x-kubernetes-preserve-unknown-fields", "$ref", "openAPIV3Schema",
    "velero.io/schedule-name", "12:60", "1:2:3a", "infinity", "nan",
]

MUST_QUOTE = [
    "", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true",
    "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off",
    "Off", "OFF", "~", "null", "Null", "NULL", "<<", "=", "0", "123",
    "-1", "+1", "0755", "0o17", "0x1F", "0X1F", "0O17", "0B11", "0b101", "1_000", "1e3", "1E-3",
    ".5", "+.5", "1.", "1.5", ".inf", "-.Inf", ".nan", "190:20:30",
    "1:20", "1:20.5", "2024-01-02", "2024-1-2T3:04:05Z",
    "2024-01-02 03:04:05.123 +01:00", "2024-01-02t03:04:05", "2024-1-2", "-", "?",
    ":", "- a", "? a", ": a", "a: b", "a #b", "a:", "#a", "&a", "*a", "!a",
    "|", ">", "'", '"', "%a", "@a", "`a", "---", "...", "--- a", " a",
    "a ", "\ta", "a\tb", "a\rb", "a\u0085b", "a\u2028b", "a\ufeffb",
    "a\x7fb", "a\x00b", "?a", ":a", ",a", "[a", "]a", "{a", "}a",
]


def _render_obj(obj):
    rc, out, err = render(json.dumps(obj).encode())
    assert rc == 0, err
    return out.decode()


def test_known_plain_values():
    for v in KNOWN_PLAIN:
        assert _render_obj({"k": v}) == f"k: {v}\n", v
        assert _render_obj({v: 1}) == f"{v}: 1\n", v
        assert _render_obj([v]) == f"- {v}\n", v


def test_must_quote_values():
    for v in MUST_QUOTE:
        out = _render_obj({"k": v})
        assert out.startswith('k: "'), (v, out)
        check_roundtrip(json.dumps({v: v}).encode(), repr(v))
        check_roundtrip(json.dumps({v: v}, ensure_ascii=False)
                        .encode(), repr(v))


def test_literal_blocks():
    assert _render_obj({"k": "a\nb\n"}) == "k: |\n  a\n  b\n"
    assert _render_obj({"k": "a\nb"}) == "k: |-\n  a\n  b\n"
    assert _render_obj({"k": "a\nb\n\n", "z": 1}) == \
        "k: |+\n  a\n  b\n\nz: 1\n"
    assert _render_obj({"k": " a\nb"}) == "k: |2-\n   a\n  b\n"
    assert _render_obj([{"k": "\ta\n"}]) == "- k: |2\n    \ta\n"
    # trailing spaces and carriage returns: double-quoted
    assert _render_obj({"k": "a \nb"}) == 'k: "a \\nb"\n'
    assert _render_obj({"k": "a\r\nb"}) == 'k: "a\\r\\nb"\n'


def test_numbers():
    cases = {
        "1e3": "1.0e+3", "2E-7": "2.0E-7", "1.5e300": "1.5e+300",
        "-0": "-0", "-0.0": "-0.0", "0.1": "0.1", "1E+2": "1.0E+2",
        "123456789012345678901234567890": "123456789012345678901234567890",
        "1e400": "1.0e+400", "-1.25e-10": "-1.25e-10",
    }
    for j, y in cases.items():
        rc, out, err = render(j.encode())
        assert rc == 0, err
        assert out.decode() == y + "\n", j
        check_roundtrip(j.encode(), j)


# --------------------------------------------------------------------------
# errors


BAD = [
    b"", b"   ", b"{", b"[1,]", b"{\"a\":1,}", b"{\"a\" 1}", b"[1 2]",
    b"01", b"1.", b"-", b".5", b"1e", b"+1", b"tru", b"nul", b"[true]x",
    b"\"a", b"\"\\x\"", b"\"\\u12\"", b"\"\\ud800\"", b"\"\\udc00\"",
    b"\"\\ud800\\u0041\"", b"\"\x01\"", b"\"\xff\"", b"\"\xc0\x80\"",
    b"\"\xed\xa0\x80\"", b"\"\xf4\x90\x80\x80\"", b"\"\xe2\x82\"",
    b"\xef\xbb\xbf{}", b"{1:2}", b"[] []", b"NaN", b"Infinity", b"'a'",
]


@pytest.mark.parametrize("data", BAD, ids=[repr(b)[:30] for b in BAD])
def test_invalid_json_rejected(data):
    rc, out, err = render(data)
    assert rc == 1, (data, out)
    assert "line " in err and " col " in err, err


def test_depth_cap():
    ok = b"[" * 256 + b"]" * 256
    rc, out, err = render(ok)
    assert rc == 0, err
    rc, out, err = render(b"[" * 257 + b"]" * 257)
    assert rc == 1 and "nesting" in err, err
    rc, out, err = render(b"[" * 100000)
    assert rc == 1


def test_output_cap():
    data = json.dumps({"k": ["x" * 100] * 10}).encode()
    rc, full, err = render(data)
    assert rc == 0
    rc, out, err = render(data, "--max", str(len(full) - 1))
    assert rc == 1 and "Argument list too long" in err, err
    rc, out, err = render(data, "--max", str(len(full)))
    assert rc == 0 and out == full


# --------------------------------------------------------------------------
# random documents


SPECIAL_WORDS = MUST_QUOTE + KNOWN_PLAIN + [
    "-a", "--", "- ", "a -", "a- b", "a ?", "a?", "<", "<<<", "==", "a=",
    "~a", ".", "..", "....", "-.", "+", "0.", "-0", "+0", "00", "1__0",
    "0x_", "0b_", "0o", "._", "-_", "+_1", "1:2", "1:60", "1:5:59",
    "1:2.", "2024-01-02 ", " 2024-01-02", "2024-01-02T03:04:05",
    "2024-01-02 03:04:05", "2024-01-02T03:04:05-7", "2024-01-02T03:04:05 Z",
    "2024-12-31T23:59:60.999999+14:00", "9999-99-99",
    "1.0e+3", "1.0E-3", "1e+3", "1_0e3", ".1e3", "+.1e+3", "1.e3",
    "#", "a#", "a #", "a#b #c", "a: ", "a:\tb", "::", "a::b", "%", "@",
    "!!str", "&anchor a", "*alias", "{}", "[]", "{a: 1}", "[a, b]",
    "\\", "\\n", "'quoted'", '"dq"', "a\\b", "ä", "\u00a0", "\u3000",
    "\u200b", "\U0001F600", "\U0010FFFF", "\ufffe", "\uffff", "\ufdd0",
    "\u0080", "\u009f", "\u00ad", "\ue000",
]

UNICODE_POOL = [
    "\u0085", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff", "\U0010ffff",
    "\U0001f600", "\U00020000", "\u0080", "\u009b", "\u00a0", "\u00e9",
    "\u4e2d", "\u0301", "\ud7ff", "\ue000", "\ufffd", "\x7f", "\x00", "\x1b",
    "\x0b", "\x0c", "\b", "\r", "\t", "\n", " ", "#", ":", "-", "'", '"',
    "\\", "/", "|", ">", "&", "*", "!", "%", "@", "`", "?", ",", "[", "]",
    "{", "}", "~", "=", "<",
]


def by_chance(r: random.Random, *arms):
    """One draw of r.random() picks the first (bound, make) arm whose bound
    it is below (None: any), and returns make()."""
    k = r.random()
    for bound, make in arms:
        if bound is None or k < bound:
            return make()
    raise ValueError("no arm for %r" % k)


def rand_line(r: random.Random):
    return by_chance(
        r,
        (0.3, lambda: r.choice(SPECIAL_WORDS)),
        (0.5, lambda: "".join(r.choice("abcxyz019 .:-_/#") for _ in
                              range(r.randint(0, 12)))),
        (0.7, lambda: "".join(r.choice(UNICODE_POOL + list("abc ")) for _ in
                              range(r.randint(0, 6)))),
        (0.85, lambda: " " * r.randint(0, 4) + r.choice(SPECIAL_WORDS) +
         r.choice(["", " ", "\t", "  "])),
        (None, lambda: "".join(chr(r.randint(0x20, 0x10ffff)) for _ in
                               range(r.randint(1, 4))
                               ).encode("utf-8", "ignore").decode("utf-8", "ignore")))


def rand_string(r: random.Random):
    k = r.random()
    if k < 0.45:
        return rand_line(r)
    if k < 0.55:
        return r.choice(SPECIAL_WORDS) + r.choice(SPECIAL_WORDS)
    # multi-line
    lines = [rand_line(r) if r.random() < 0.7 else "" for _ in
             range(r.randint(1, 6))]
    s = "\n".join(lines)
    s = "\n" * r.choice([0, 0, 0, 1, 2]) + s + "\n" * r.choice([0, 1, 1, 2, 3])
    return s


NUMBERS = [
    "0", "-0", "1", "-1", "42", "123456789012345678901234567890",
    "-98765432109876543210987654321", "9223372036854775808",
    "18446744073709551616", "0.0", "-0.0", "0.1", "1.5", "-2.25",
    "3.141592653589793", "1e3", "1E3", "1e+3", "1e-3", "2E-7", "1.5e300",
    "-1.5E-300", "1e400", "-1e400", "1e-400", "0e0", "0E+0", "-0e-0",
    "123.456e78", "5e-324", "1.7976931348623157e308", "100", "1.0",
]


def rand_number(r: random.Random):
    def exponent_form():
        m = str(r.randint(0, 999))
        if r.random() < 0.5:
            m += "." + str(r.randint(0, 999))
        return (r.choice(["", "-"]) + m + r.choice("eE") + r.choice(["", "+", "-"])
                + str(r.randint(0, 320)))

    return by_chance(
        r,
        (0.5, lambda: r.choice(NUMBERS)),
        (0.7, lambda: str(r.randint(-10 ** 30, 10 ** 30))),
        (0.85, lambda: repr(r.uniform(-1e6, 1e6))),
        (None, exponent_form))


def jstr(r: random.Random, s: str):
    return json.dumps(s, ensure_ascii=r.random() < 0.3)


def rand_json(r: random.Random, depth=0):
    """Returns JSON text (so number literals can be in any form)."""
    k = r.random()
    ws = r.choice(["", "", " ", "\n  ", "\t"])
    if depth < 6 and k < 0.25:
        items = [rand_json(r, depth + 1) for _ in range(r.choice(
            [0, 1, 2, 3, 5]))]
        return "{" + ws + ("," + ws).join(
            jstr(r, rand_string(r) if r.random() < 0.6 else
                 r.choice(KNOWN_PLAIN)) + ws + ":" + ws + v
            for v in items) + ws + "}"
    if depth < 6 and k < 0.45:
        items = [rand_json(r, depth + 1) for _ in range(r.choice(
            [0, 1, 2, 3, 4]))]
        return "[" + ws + ("," + ws).join(items) + ws + "]"
    if k < 0.75:
        return jstr(r, rand_string(r))
    if k < 0.9:
        return rand_number(r)
    return r.choice(["true", "false", "null"])


@pytest.mark.parametrize("seed", range(20))
def test_random_documents(seed):
    r = random.Random(seed)
    for i in range(150):
        text = rand_json(r).encode("utf-8")
        check_roundtrip(text, f"seed {seed} doc {i}: {text[:300]!r}")


def test_one_special_at_every_position():
    """A byte or sequence the string scan must stop at or note (quotes,
    escapes, control characters, non-ASCII, and the ' ', ':', '#' and DEL
    that decide the quoting) at every offset of a 48-byte string, before
    and past the 16-byte steps of the scan; as values and as keys, with the
    UTF-8 raw in the JSON and escaped."""
    specials = [" ", ":", ": ", " #", "#", "\t", "\n", "\x7f", "\x01", "\"", "\\",
                "\u00e9", "\u2028", "\x85", "\ufeff", " \n", "- ", "\r"]
    strings = []
    for sp in specials:
        for pos in range(0, 49 - len(sp)):
            body = "a" * pos + sp + "b" * (48 - pos - len(sp))
            strings += [body, body.rstrip("b"), body.lstrip("a")]
    for ensure_ascii in (False, True):
        doc = {"values": strings, "keys": {x: i for i, x in enumerate(strings)}}
        check_roundtrip(json.dumps(doc, ensure_ascii=ensure_ascii).encode(),
                        f"specials, ensure_ascii={ensure_ascii}")


def test_random_top_level_strings():
    """Every string also as a whole document and as a long mapping key."""
    r = random.Random(1234)
    for _ in range(300):
        s = rand_string(r)
        check_roundtrip(json.dumps(s).encode(), repr(s))
        check_roundtrip(json.dumps([[s]]).encode(), repr(s))
        check_roundtrip(json.dumps({s * 3: {s: [s]}}).encode(), repr(s))
    check_roundtrip(json.dumps({"k" * 5000: 1, "b": [{"x" * 2000: [1]}]})
                    .encode(), "long keys")
