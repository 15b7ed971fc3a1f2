# Shared by the command-line tests (tests/cli_*.sh): a counted check and the
# closing line CTest and CI read. Source it; end the script with `finish`.
pass=0
fail=0
check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
    local what=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
        echo "ok: $what"
    else
        fail=$((fail + 1))
        echo "FAIL: $what"
    fi
}
not() { ! "$@"; } # check "..." not COMMAND...: passes when COMMAND fails
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
