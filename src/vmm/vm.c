#include "ringvm/vm.h"
