#!/bin/bash
# tests/bus/functions.sh BUS.H BUS_FUNCTIONS.H - the list that the build
# without libsystemd expands into stubs (src/bus_functions.h) names every
# IPK_API function of include/ipckit/bus.h, and nothing else: a function
# missing there would be missing from libipckit built with -Ddbus=disabled.
# (The build with sd-bus checks each listed prototype against the header.)
set -euo pipefail
header=${1:?usage: $0 BUS.H BUS_FUNCTIONS.H}
list=${2:?usage: $0 BUS.H BUS_FUNCTIONS.H}

declared=$(sed -n 's/^IPK_API [^(]*[ *]\(ipk_bus_[a-z_]*\)(.*/\1/p' "$header" | sort)
listed=$(sed -n 's/^IPK_BUS_FUNCTION([^,]*, \(ipk_bus_[a-z_]*\),.*/\1/p' "$list" | sort)
[ "$(echo "$declared" | wc -l)" -gt 30 ] || {
	echo "FAIL: found only $(echo "$declared" | wc -l) IPK_API functions in $header"
	exit 1
}
if [ "$declared" != "$listed" ]; then
	echo "FAIL: bus.h and bus_functions.h differ (< only in bus.h, > only in the list):"
	diff <(echo "$declared") <(echo "$listed") || true
	exit 1
fi
exit 0
