# Helpers for tests that boot Debian's stock kernel under qemu (software emulation) with an
# initramfs the test builds: busybox-static, the kernel modules we need, our binaries and their
# shared libraries. Sourced by tests/vm/*_test.sh after tests/lib.sh.

# The kernel: Debian 12's 6.1 flavour. We prefer this ABI, and fall back to the newest 6.1 image
# the archive has if it has moved on (old ABIs leave the archive after point releases).
VM_KERNEL_PREFERRED=${VM_KERNEL_PREFERRED:-linux-image-6.1.0-50-amd64}
VM_CACHE=${PORTCULLIS_VM_CACHE:-/var/cache/portcullis-vm}
VM_MODULES=(esp4 xfrm_user xfrm_algo authenc cbc des_generic des3_ede_generic libdes echainiv
	seqiv drbg ctr md5 sha1_generic sha256_generic hmac virtio_net virtio_pci tun veth nf_tables
	nft_nat nft_masq nft_redir nft_ct nft_chain_nat nf_conntrack nf_nat nft_objref nft_reject
	nft_reject_ipv4 nft_limit nft_log nf_conntrack_ftp nf_conntrack_tftp nf_conntrack_h323
	nf_conntrack_sip nf_nat_ftp nf_nat_tftp nf_nat_h323 nf_nat_sip)

vm_kernel_pkg() {
	if apt-cache show "$VM_KERNEL_PREFERRED" >/dev/null 2>&1; then
		echo "$VM_KERNEL_PREFERRED"
		return
	fi
	apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' |
		sort -t- -k4,4n | tail -n 1
}

# vm_kernel: sets VM_KVER, VM_ROOT (extracted package) and VM_VMLINUZ.
vm_kernel() {
	local pkg
	pkg=$(vm_kernel_pkg)
	[ -n "$pkg" ] || {
		echo "no linux-image-6.1.0-*-amd64 in the package archive (apt-get update?)" >&2
		return 1
	}
	VM_KVER=${pkg#linux-image-}
	VM_ROOT=$VM_CACHE/$pkg
	if [ ! -f "$VM_ROOT/boot/vmlinuz-$VM_KVER" ]; then
		mkdir -p "$VM_CACHE"
		(cd "$VM_CACHE" && rm -f "$pkg"_*.deb && apt-get download "$pkg" >/dev/null 2>&1) || {
			echo "apt-get download $pkg failed" >&2
			return 1
		}
		rm -rf "$VM_ROOT.tmp"
		dpkg-deb -x "$VM_CACHE/$pkg"_*.deb "$VM_ROOT.tmp"
		depmod -b "$VM_ROOT.tmp" "$VM_KVER"
		rm -rf "$VM_ROOT"
		mv "$VM_ROOT.tmp" "$VM_ROOT"
	fi
	VM_VMLINUZ=$VM_ROOT/boot/vmlinuz-$VM_KVER
	echo "# kernel: $pkg"
}

# vm_add_binary DIR PATH...: copies programs and every shared library they need into DIR.
vm_add_binary() {
	local dir=$1 b l
	shift
	for b in "$@"; do
		mkdir -p "$dir$(dirname "$b")"
		cp -L "$b" "$dir$b"
		for l in $(ldd "$b" 2>/dev/null | grep -o '/[^ ]*' || true); do
			[ -e "$dir$l" ] && continue
			mkdir -p "$dir$(dirname "$l")"
			cp -L "$l" "$dir$l"
		done
	done
}

# vm_initramfs DIR OUT INIT_SCRIPT: builds OUT from DIR plus busybox, modules and INIT_SCRIPT
# (run by /init after /proc, /sys, /dev are mounted and the modules loaded).
vm_initramfs() {
	local dir=$1 out=$2 script=$3 m
	mkdir -p "$dir"/{bin,sbin,proc,sys,dev,tmp,run,etc,lib/modules/"$VM_KVER"}
	cp /bin/busybox "$dir/bin/busybox"
	: >"$dir/mods.sh"
	for m in "${VM_MODULES[@]}"; do
		# a module this kernel builds in (or lacks) shows no insmod line: not an error here
		{ modprobe -d "$VM_ROOT" -S "$VM_KVER" --show-depends "$m" 2>/dev/null || true; } |
			awk '/^insmod/{print $2}'
	done | awk '!seen[$0]++' | while read -r m; do
		cp "$m" "$dir/lib/modules/$VM_KVER/"
		echo "insmod /lib/modules/$VM_KVER/$(basename "$m") 2>/dev/null" >>"$dir/mods.sh"
	done
	vm_add_binary "$dir" /sbin/ip
	cp "$script" "$dir/test.sh"
	cat >"$dir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/net /run/netns
sh /mods.sh
/sbin/ip link set lo up
echo "VM: kernel $(uname -r) up"
sh /test.sh
echo "VM_EXIT_CODE=$?"
poweroff -f
INIT
	chmod +x "$dir/init"
	(cd "$dir" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$out")
}

# vm_boot INITRD LOG [extra qemu args...]: boots, waits for power-off, returns the test's exit code.
# VM_MEM overrides the memory size (MiB, default 1024: enough for ASan builds).
vm_boot() {
	local initrd=$1 log=$2
	shift 2
	# VM_NETNS: run qemu inside that network namespace (where its tap device lives)
	${VM_NETNS:+ip netns exec "$VM_NETNS"} timeout 600 qemu-system-x86_64 -m "${VM_MEM:-1024}" -cpu max -smp 1 -nographic -no-reboot \
		-kernel "$VM_VMLINUZ" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 loglevel=3" "$@" >"$log" 2>&1 || true
	local rc
	rc=$(grep -a -o 'VM_EXIT_CODE=[0-9]*' "$log" | tail -n 1 | cut -d= -f2)
	[ -n "$rc" ] || {
		echo "VM did not finish its test; console:" >&2
		tail -n 40 "$log" >&2
		return 99
	}
	return "$rc"
}
