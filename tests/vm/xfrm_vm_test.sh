#!/usr/bin/env bash
# The xfrm backend against a real ESP-capable kernel: Debian's stock 6.1 kernel booted under qemu.
# Inside the VM the xfrm unit test must find ESP and install, read back and remove real states and
# policies. On this machine's kernel (no ESP) the probe must refuse with a clear message.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/vmlib.sh"

xfrm_test=$PORTCULLIS_BUILD_DIR/xfrm_test
[ -x "$xfrm_test" ] || {
	echo "missing $xfrm_test" >&2
	exit 1
}

vm_kernel
root=$T_DIR/initrd
tun_test=$PORTCULLIS_BUILD_DIR/ipsec_tun_test
vm_add_binary "$root" "$xfrm_test" "$tun_test" "$PORTCULLIS"
cat >"$T_DIR/test.sh" <<SH
export PORTCULLIS_EXPECT_KERNEL_ESP=1 ASAN_OPTIONS=detect_leaks=1
$xfrm_test
rc=\$?
# backend selection with kernel ESP: xfrm by name and by auto (test_backend_select's ESP branch)
$tun_test >/tmp/tun.log 2>&1
echo "ipsec_tun_test exit \$?"
grep -E 'xfrm probe in this kernel|PASSED|FAILED' /tmp/tun.log
$PORTCULLIS ipsec-probe
/sbin/ip xfrm state list | grep -c 'proto esp' | sed 's/^/leftover states: /'
exit \$rc
SH
vm_initramfs "$root" "$T_DIR/initrd.gz" "$T_DIR/test.sh"
rc=0
vm_boot "$T_DIR/initrd.gz" "$T_DIR/console.log" || rc=$?
grep -a -E 'probe:|round trip|expiry|ipsec_tun_test|auto backend|PASSED|FAILED|leftover|VM:' "$T_DIR/console.log" | sed 's/^/# vm: /'
t_check "xfrm unit test passes inside the VM (exit $rc)" test "$rc" -eq 0
t_check "the VM kernel accepted ESP states" grep -aq "the kernel accepts ESP states" "$T_DIR/console.log"
t_check "real states installed, read back and removed" grep -aq "xfrm kernel round trip: ok" "$T_DIR/console.log"
t_check "kernel lifetimes: soft and hard expiry reported, pair removed" grep -aq "xfrm kernel expiry: soft [1-9][0-9]*, hard 1: ok" "$T_DIR/console.log"
t_check "backend selection with kernel ESP (xfrm by name and by auto) passes" grep -aq "ipsec_tun_test exit 0" "$T_DIR/console.log"
t_check "ipsec-probe: auto picks xfrm on this kernel" grep -aq "auto backend: xfrm (kernel ESP)" "$T_DIR/console.log"
t_check "nothing left behind in the kernel" grep -aq "leftover states: 0" "$T_DIR/console.log"

# On this machine: no ESP, so the probe refuses and says what is missing.
out=$(unshare -n "$xfrm_test" 2>&1 || true)
t_check "host kernel: probe explains the missing ESP support" grep -q "has no ESP support" <<<"$out"
t_done
