#include "restore/restore_i.h"
int main(void){return 0;}
