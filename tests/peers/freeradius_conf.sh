#!/usr/bin/env bash
# Builds a private FreeRADIUS 3 configuration for the AAA tests from the Debian one.
# usage: freeradius_conf.sh DIR ADDR AUTH_PORT ACCT_PORT SECRET DETAIL_FILE USER:PASSWORD...
# Then: freeradius -f -d DIR -l DIR/radius.log   (runs as root; no EAP; one site)
set -euo pipefail
dir=$1 addr=$2 aport=$3 cport=$4 secret=$5 detail=$6
shift 6
mkdir -p "$dir"
cp -a /etc/freeradius/3.0/. "$dir/"
rm -f "$dir"/sites-enabled/* "$dir"/mods-enabled/eap
# run as the invoking user, keep every file under DIR
sed -i -e '/^\s*user = freerad/d' -e '/^\s*group = freerad/d' \
	-e "s|^\s*run_dir = .*|run_dir = $dir/run|" \
	-e "s|^\s*logdir = .*|logdir = $dir/log|" \
	-e "s|^\s*radacctdir = .*|radacctdir = $dir/radacct|" "$dir/radiusd.conf"
mkdir -p "$dir/run" "$dir/log" "$dir/radacct"
cat >"$dir/clients.conf" <<EOC
client portcullis {
	ipaddr = 127.0.0.0/8
	secret = $secret
	require_message_authenticator = yes
}
EOC
: >"$dir/mods-config/files/authorize"
for up in "$@"; do
	echo "${up%%:*} Cleartext-Password := \"${up#*:}\"" >>"$dir/mods-config/files/authorize"
done
cat >"$dir/mods-enabled/pc_detail" <<EOC
detail pc_detail {
	filename = $detail
	escape_filenames = no
	permissions = 0600
	header = "%t"
}
EOC
cat >"$dir/sites-enabled/portcullis" <<EOC
server portcullis {
	listen {
		type = auth
		ipaddr = $addr
		port = $aport
	}
	listen {
		type = acct
		ipaddr = $addr
		port = $cport
	}
	authorize {
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
	preacct {
		acct_unique
	}
	accounting {
		pc_detail
	}
	post-auth {
	}
}
EOC
