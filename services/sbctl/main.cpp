#include "sbctl.h"

int main(int argc, char** argv) { return sb::sbctl::run(argc, argv); }
