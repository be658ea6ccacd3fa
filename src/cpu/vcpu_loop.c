/* placeholder: replaced below */
#include "ringvm/vm.h"
