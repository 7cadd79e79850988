#pragma once

namespace sb::sbctl {

// sbctl [--router EP] call|status|drain|metrics|keyslot ...; returns the exit code.
int run(int argc, char** argv);

}  // namespace sb::sbctl
