-- Portcullis schema 1: the PIX 6.3 configuration model, plus runtime state that must survive a
-- restart (leases, uauth, accounting outbox), admin users, API tokens and the audit log.
--
-- Conventions: IPv4 addresses and masks are dotted-quad TEXT checked with ip4() / ip4_mask_ok()
-- (SQL functions registered by db_open); booleans are INTEGER 0/1; `position` orders entries the
-- way the PIX prints them; secrets are NULL when not set (imported masked, "secret not set");
-- times are ISO-8601 UTC text unless the column name ends in _at_ms (monotonic or epoch ms).
-- Lists of allowed values in CHECKs are written `x = 'a' OR x = 'b' OR ...`, not `x IN ('a', 'b',
-- ...)`: SQLite builds an ephemeral table for every IN list of three or more constants on every
-- INSERT, which halved the speed of a 100,000-line PIX import.

-- Scalar settings that have no table of their own (hostname, domain-name, enable password hash,
-- passwd hash, pager lines, arp timeout, floodguard, isakmp identity, telnet/ssh/console timeouts,
-- terminal width, names enabled, logging/snmp/failover/ip audit/pdm settings). Keys are documented
-- in db/model.h.
CREATE TABLE setting (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE interface (
	id INTEGER PRIMARY KEY,
	hw_name TEXT NOT NULL UNIQUE,          -- ethernet0, or ethernet0 + vlan for logical interfaces
	linux_name TEXT,                        -- NULL: derived (ethernetN -> ethN)
	speed TEXT NOT NULL DEFAULT 'auto',     -- auto, 10baset, 100full, 1000full, ...
	shutdown INTEGER NOT NULL DEFAULT 0 CHECK (shutdown IN (0, 1)),
	vlan INTEGER CHECK (vlan IS NULL OR vlan BETWEEN 1 AND 4094),
	logical INTEGER NOT NULL DEFAULT 0 CHECK (logical IN (0, 1)),
	physical_hw_name TEXT,                  -- for logical (VLAN) interfaces: the parent
	nameif TEXT UNIQUE,
	security INTEGER CHECK (security IS NULL OR security BETWEEN 0 AND 100),
	ip_mode TEXT NOT NULL DEFAULT 'none' CHECK (ip_mode = 'none' OR ip_mode = 'static' OR ip_mode = 'dhcp' OR ip_mode = 'pppoe'),
	address TEXT CHECK (address IS NULL OR ip4(address) IS NOT NULL),
	netmask TEXT CHECK (netmask IS NULL OR ip4_mask_ok(netmask)),
	dhcp_setroute INTEGER NOT NULL DEFAULT 0 CHECK (dhcp_setroute IN (0, 1)),
	dhcp_retry INTEGER CHECK (dhcp_retry IS NULL OR dhcp_retry BETWEEN 4 AND 16), -- ip address IF dhcp retry N
	mtu INTEGER NOT NULL DEFAULT 1500 CHECK (mtu BETWEEN 64 AND 65535),
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (ip_mode <> 'static' OR (address IS NOT NULL AND netmask IS NOT NULL)),
	CHECK (security IS NULL OR nameif IS NOT NULL)
);

CREATE TABLE name (
	id INTEGER PRIMARY KEY,
	address TEXT NOT NULL CHECK (ip4(address) IS NOT NULL),
	name TEXT NOT NULL UNIQUE,
	position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE object_group (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL CHECK (kind = 'network' OR kind = 'service' OR kind = 'protocol' OR kind = 'icmp-type'),
	service_protocol TEXT CHECK (service_protocol IS NULL OR
		(service_protocol = 'tcp' OR service_protocol = 'udp' OR service_protocol = 'tcp-udp')),
	description TEXT,
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (kind = 'service' OR service_protocol IS NULL)
);

-- kind: host (address), network (address + netmask), port (op + port_low [+ port_high]),
-- protocol (value), icmp-type (value), group (ref_group_id).
CREATE TABLE object_group_member (
	id INTEGER PRIMARY KEY,
	group_id INTEGER NOT NULL REFERENCES object_group(id) ON DELETE CASCADE,
	position INTEGER NOT NULL DEFAULT 0,
	kind TEXT NOT NULL CHECK (kind = 'host' OR kind = 'network' OR kind = 'port' OR kind = 'protocol' OR kind = 'icmp-type' OR kind = 'group'),
	address TEXT CHECK (address IS NULL OR ip4(address) IS NOT NULL),
	netmask TEXT CHECK (netmask IS NULL OR ip4_mask_ok(netmask)),
	port_op TEXT CHECK (port_op IS NULL OR port_op IN ('eq', 'range')),
	port_low INTEGER CHECK (port_low IS NULL OR port_low BETWEEN 0 AND 65535),
	port_high INTEGER CHECK (port_high IS NULL OR port_high BETWEEN 0 AND 65535),
	value TEXT,
	ref_group_id INTEGER REFERENCES object_group(id) ON DELETE RESTRICT,
	CHECK (kind <> 'host' OR address IS NOT NULL),
	CHECK (kind <> 'network' OR (address IS NOT NULL AND netmask IS NOT NULL)),
	CHECK (kind <> 'port' OR (port_op IS NOT NULL AND port_low IS NOT NULL)),
	CHECK (port_high IS NULL OR port_high >= port_low),
	CHECK (kind <> 'group' OR (ref_group_id IS NOT NULL AND ref_group_id <> group_id))
);
CREATE INDEX object_group_member_group ON object_group_member(group_id, position);

CREATE TABLE access_list (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	position INTEGER NOT NULL DEFAULT 0
);

-- One access-list line. Endpoints (src_*, dst_*): kind any | host | network | group | interface,
-- with address/netmask, group_id, or interface_id. Ports: op eq|neq|lt|gt|range with port_low
-- (and port_high for range), or port_group_id (service object-group). protocol: ip, tcp, udp, icmp,
-- a number 0-255, or NULL with protocol_group_id.
CREATE TABLE access_list_entry (
	id INTEGER PRIMARY KEY,
	acl_id INTEGER NOT NULL REFERENCES access_list(id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	action TEXT NOT NULL CHECK (action = 'permit' OR action = 'deny' OR action = 'remark'),
	remark TEXT,
	protocol TEXT,
	protocol_group_id INTEGER REFERENCES object_group(id) ON DELETE RESTRICT,
	src_kind TEXT CHECK (src_kind IS NULL OR (src_kind = 'any' OR src_kind = 'host' OR src_kind = 'network' OR src_kind = 'group' OR src_kind = 'interface')),
	src_address TEXT CHECK (src_address IS NULL OR ip4(src_address) IS NOT NULL),
	src_netmask TEXT CHECK (src_netmask IS NULL OR ip4_mask_ok(src_netmask)),
	src_group_id INTEGER REFERENCES object_group(id) ON DELETE RESTRICT,
	src_interface_id INTEGER REFERENCES interface(id) ON DELETE RESTRICT,
	src_port_op TEXT CHECK (src_port_op IS NULL OR (src_port_op = 'eq' OR src_port_op = 'neq' OR src_port_op = 'lt' OR src_port_op = 'gt' OR src_port_op = 'range')),
	src_port_low INTEGER CHECK (src_port_low IS NULL OR src_port_low BETWEEN 0 AND 65535),
	src_port_high INTEGER CHECK (src_port_high IS NULL OR src_port_high BETWEEN 0 AND 65535),
	src_port_group_id INTEGER REFERENCES object_group(id) ON DELETE RESTRICT,
	dst_kind TEXT CHECK (dst_kind IS NULL OR (dst_kind = 'any' OR dst_kind = 'host' OR dst_kind = 'network' OR dst_kind = 'group' OR dst_kind = 'interface')),
	dst_address TEXT CHECK (dst_address IS NULL OR ip4(dst_address) IS NOT NULL),
	dst_netmask TEXT CHECK (dst_netmask IS NULL OR ip4_mask_ok(dst_netmask)),
	dst_group_id INTEGER REFERENCES object_group(id) ON DELETE RESTRICT,
	dst_interface_id INTEGER REFERENCES interface(id) ON DELETE RESTRICT,
	dst_port_op TEXT CHECK (dst_port_op IS NULL OR (dst_port_op = 'eq' OR dst_port_op = 'neq' OR dst_port_op = 'lt' OR dst_port_op = 'gt' OR dst_port_op = 'range')),
	dst_port_low INTEGER CHECK (dst_port_low IS NULL OR dst_port_low BETWEEN 0 AND 65535),
	dst_port_high INTEGER CHECK (dst_port_high IS NULL OR dst_port_high BETWEEN 0 AND 65535),
	dst_port_group_id INTEGER REFERENCES object_group(id) ON DELETE RESTRICT,
	icmp_type TEXT,                         -- name or number, icmp only
	icmp_group_id INTEGER REFERENCES object_group(id) ON DELETE RESTRICT,
	log INTEGER NOT NULL DEFAULT 0 CHECK (log IN (0, 1)),
	log_level INTEGER CHECK (log_level IS NULL OR log_level BETWEEN 0 AND 7),
	log_interval INTEGER,
	inactive INTEGER NOT NULL DEFAULT 0 CHECK (inactive IN (0, 1)),
	CHECK (action = 'remark' OR protocol IS NOT NULL OR protocol_group_id IS NOT NULL),
	CHECK (action = 'remark' OR (src_kind IS NOT NULL AND dst_kind IS NOT NULL)),
	CHECK (action <> 'remark' OR remark IS NOT NULL),
	CHECK (src_port_high IS NULL OR src_port_high >= src_port_low),
	CHECK (dst_port_high IS NULL OR dst_port_high >= dst_port_low),
	UNIQUE (acl_id, position)
);

CREATE TABLE access_group (
	id INTEGER PRIMARY KEY,
	acl_id INTEGER NOT NULL REFERENCES access_list(id) ON DELETE RESTRICT,
	interface_id INTEGER NOT NULL REFERENCES interface(id) ON DELETE RESTRICT,
	direction TEXT NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out')),
	UNIQUE (interface_id, direction)
);

-- global (IF) ID start[-end] [netmask M] | global (IF) ID interface
CREATE TABLE nat_global (
	id INTEGER PRIMARY KEY,
	interface_id INTEGER NOT NULL REFERENCES interface(id) ON DELETE RESTRICT,
	nat_id INTEGER NOT NULL CHECK (nat_id BETWEEN 1 AND 2147483647),
	kind TEXT NOT NULL CHECK (kind = 'range' OR kind = 'pat' OR kind = 'interface'),
	start_address TEXT CHECK (start_address IS NULL OR ip4(start_address) IS NOT NULL),
	end_address TEXT CHECK (end_address IS NULL OR ip4(end_address) IS NOT NULL),
	netmask TEXT CHECK (netmask IS NULL OR ip4_mask_ok(netmask)),
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (kind = 'interface' OR start_address IS NOT NULL),
	CHECK (kind <> 'range' OR (end_address IS NOT NULL AND ip4(start_address) <= ip4(end_address)))
);

-- nat (IF) ID address mask [outside] [dns] [norandomseq] [max_conns [emb_limit]]
-- nat (IF) 0 access-list ACL   (exemption)
CREATE TABLE nat_rule (
	id INTEGER PRIMARY KEY,
	interface_id INTEGER NOT NULL REFERENCES interface(id) ON DELETE RESTRICT,
	nat_id INTEGER NOT NULL CHECK (nat_id BETWEEN 0 AND 2147483647),
	acl_id INTEGER REFERENCES access_list(id) ON DELETE RESTRICT,
	address TEXT CHECK (address IS NULL OR ip4(address) IS NOT NULL),
	netmask TEXT CHECK (netmask IS NULL OR ip4_mask_ok(netmask)),
	outside INTEGER NOT NULL DEFAULT 0 CHECK (outside IN (0, 1)),
	dns INTEGER NOT NULL DEFAULT 0 CHECK (dns IN (0, 1)),
	norandomseq INTEGER NOT NULL DEFAULT 0 CHECK (norandomseq IN (0, 1)),
	max_conns INTEGER NOT NULL DEFAULT 0 CHECK (max_conns >= 0),
	emb_limit INTEGER NOT NULL DEFAULT 0 CHECK (emb_limit >= 0),
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (acl_id IS NOT NULL OR (address IS NOT NULL AND netmask IS NOT NULL))
);

-- static (real_if,mapped_if) [tcp|udp] mapped[|interface] [port] real [port] [netmask M]
--   [dns] [norandomseq] [max_conns [emb_limit]]   | ... mapped access-list ACL
CREATE TABLE nat_static (
	id INTEGER PRIMARY KEY,
	real_interface_id INTEGER NOT NULL REFERENCES interface(id) ON DELETE RESTRICT,
	mapped_interface_id INTEGER NOT NULL REFERENCES interface(id) ON DELETE RESTRICT,
	protocol TEXT CHECK (protocol IS NULL OR protocol IN ('tcp', 'udp')),
	mapped_kind TEXT NOT NULL DEFAULT 'address' CHECK (mapped_kind IN ('address', 'interface')),
	mapped_address TEXT CHECK (mapped_address IS NULL OR ip4(mapped_address) IS NOT NULL),
	mapped_port INTEGER CHECK (mapped_port IS NULL OR mapped_port BETWEEN 0 AND 65535),
	real_address TEXT CHECK (real_address IS NULL OR ip4(real_address) IS NOT NULL),
	real_port INTEGER CHECK (real_port IS NULL OR real_port BETWEEN 0 AND 65535),
	acl_id INTEGER REFERENCES access_list(id) ON DELETE RESTRICT,
	netmask TEXT NOT NULL DEFAULT '255.255.255.255' CHECK (ip4_mask_ok(netmask)),
	dns INTEGER NOT NULL DEFAULT 0 CHECK (dns IN (0, 1)),
	norandomseq INTEGER NOT NULL DEFAULT 0 CHECK (norandomseq IN (0, 1)),
	max_conns INTEGER NOT NULL DEFAULT 0 CHECK (max_conns >= 0),
	emb_limit INTEGER NOT NULL DEFAULT 0 CHECK (emb_limit >= 0),
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (mapped_kind = 'interface' OR mapped_address IS NOT NULL),
	CHECK (acl_id IS NOT NULL OR real_address IS NOT NULL),
	CHECK ((protocol IS NULL) = (mapped_port IS NULL)),
	CHECK ((protocol IS NULL) = (real_port IS NULL) OR acl_id IS NOT NULL)
);

CREATE TABLE route (
	id INTEGER PRIMARY KEY,
	interface_id INTEGER NOT NULL REFERENCES interface(id) ON DELETE RESTRICT,
	destination TEXT NOT NULL CHECK (ip4(destination) IS NOT NULL),
	netmask TEXT NOT NULL CHECK (ip4_mask_ok(netmask)),
	gateway TEXT NOT NULL CHECK (ip4(gateway) IS NOT NULL),
	metric INTEGER NOT NULL DEFAULT 1 CHECK (metric BETWEEN 1 AND 255),
	position INTEGER NOT NULL DEFAULT 0,
	UNIQUE (destination, netmask, gateway)
);

-- timeout xlate|conn|half-closed|udp|rpc|h225|h323|mgcp|sip|sip_media|uauth|... in seconds;
-- option: absolute | inactivity (uauth only).
CREATE TABLE timeout (
	name TEXT PRIMARY KEY,
	seconds INTEGER NOT NULL CHECK (seconds >= 0),
	option TEXT CHECK (option IS NULL OR option IN ('absolute', 'inactivity'))
);

CREATE TABLE aaa_server_group (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	protocol TEXT NOT NULL CHECK (protocol = 'tacacs+' OR protocol = 'radius' OR protocol = 'local'),
	max_failed_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_failed_attempts BETWEEN 1 AND 5),
	deadtime_min INTEGER NOT NULL DEFAULT 10 CHECK (deadtime_min BETWEEN 0 AND 1440),
	accounting_mode TEXT NOT NULL DEFAULT 'single' CHECK (accounting_mode IN ('single', 'simultaneous')),
	fallback_local INTEGER NOT NULL DEFAULT 0 CHECK (fallback_local IN (0, 1)),
	position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE aaa_server_host (
	id INTEGER PRIMARY KEY,
	group_id INTEGER NOT NULL REFERENCES aaa_server_group(id) ON DELETE CASCADE,
	interface_id INTEGER REFERENCES interface(id) ON DELETE RESTRICT,
	address TEXT NOT NULL CHECK (ip4(address) IS NOT NULL),
	key_secret TEXT,                        -- NULL: not set
	timeout_s INTEGER NOT NULL DEFAULT 5 CHECK (timeout_s BETWEEN 1 AND 300),
	retries INTEGER NOT NULL DEFAULT 2 CHECK (retries BETWEEN 0 AND 10),
	auth_port INTEGER CHECK (auth_port IS NULL OR auth_port BETWEEN 1 AND 65535),
	acct_port INTEGER CHECK (acct_port IS NULL OR acct_port BETWEEN 1 AND 65535),
	position INTEGER NOT NULL DEFAULT 0,
	UNIQUE (group_id, address)
);

-- aaa authentication|authorization|accounting include|exclude SERVICE IF|inbound|outbound
--   LOCAL_ADDR LOCAL_MASK FOREIGN_ADDR FOREIGN_MASK GROUP
-- aaa ... match ACL IF GROUP
CREATE TABLE aaa_rule (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind = 'authentication' OR kind = 'authorization' OR kind = 'accounting'),
	action TEXT NOT NULL CHECK (action = 'include' OR action = 'exclude' OR action = 'match'),
	service TEXT,                           -- any, ftp, http, telnet, tcp/0, udp/53, ... (NULL for match)
	interface_id INTEGER REFERENCES interface(id) ON DELETE RESTRICT,
	direction TEXT CHECK (direction IS NULL OR direction IN ('inbound', 'outbound')),
	local_address TEXT CHECK (local_address IS NULL OR ip4(local_address) IS NOT NULL),
	local_netmask TEXT CHECK (local_netmask IS NULL OR ip4_mask_ok(local_netmask)),
	foreign_address TEXT CHECK (foreign_address IS NULL OR ip4(foreign_address) IS NOT NULL),
	foreign_netmask TEXT CHECK (foreign_netmask IS NULL OR ip4_mask_ok(foreign_netmask)),
	acl_id INTEGER REFERENCES access_list(id) ON DELETE RESTRICT,
	group_id INTEGER REFERENCES aaa_server_group(id) ON DELETE RESTRICT,
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (interface_id IS NOT NULL OR direction IS NOT NULL),
	CHECK (action <> 'match' OR acl_id IS NOT NULL),
	CHECK (action = 'exclude' OR group_id IS NOT NULL)
);

-- aaa authentication serial|telnet|ssh|http|enable console GROUP
CREATE TABLE aaa_console (
	id INTEGER PRIMARY KEY,
	service TEXT NOT NULL UNIQUE CHECK (service = 'serial' OR service = 'telnet' OR service = 'ssh' OR service = 'http' OR service = 'enable'),
	group_id INTEGER NOT NULL REFERENCES aaa_server_group(id) ON DELETE RESTRICT
);

-- username NAME password HASH encrypted [privilege N]
CREATE TABLE local_user (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	password_hash TEXT,                     -- NULL: not set
	hash_kind TEXT NOT NULL DEFAULT 'pix-md5' CHECK (hash_kind = 'pix-md5' OR hash_kind = 'pbkdf2-sha256' OR hash_kind = 'plain-unset'),
	privilege INTEGER NOT NULL DEFAULT 2 CHECK (privilege BETWEEN 0 AND 15),
	position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE ip_pool (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	start_address TEXT NOT NULL CHECK (ip4(start_address) IS NOT NULL),
	end_address TEXT NOT NULL CHECK (ip4(end_address) IS NOT NULL),
	netmask TEXT CHECK (netmask IS NULL OR ip4_mask_ok(netmask)),
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (ip4(start_address) <= ip4(end_address)),
	CHECK (ip4(end_address) - ip4(start_address) < 65536)
);

-- Address leases given by Mode Config. state active: in use now; released: free, but remembered so
-- the same user gets the same address back when it is free.
CREATE TABLE ip_lease (
	id INTEGER PRIMARY KEY,
	pool_id INTEGER NOT NULL REFERENCES ip_pool(id) ON DELETE CASCADE,
	address TEXT NOT NULL CHECK (ip4(address) IS NOT NULL),
	username TEXT NOT NULL,
	peer_address TEXT,
	state TEXT NOT NULL CHECK (state IN ('active', 'released')),
	assigned_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
	released_at TEXT,
	UNIQUE (pool_id, address)
);
CREATE INDEX ip_lease_user ON ip_lease(username);

CREATE TABLE isakmp_interface (
	interface_id INTEGER PRIMARY KEY REFERENCES interface(id) ON DELETE RESTRICT
);

CREATE TABLE isakmp_policy (
	priority INTEGER PRIMARY KEY CHECK (priority BETWEEN 1 AND 65534),
	authentication TEXT NOT NULL DEFAULT 'rsa-sig' CHECK (authentication = 'pre-share' OR authentication = 'rsa-sig' OR authentication = 'dsa-sig'),
	encryption TEXT NOT NULL DEFAULT 'des' CHECK (encryption = 'des' OR encryption = '3des' OR encryption = 'aes' OR encryption = 'aes-192' OR encryption = 'aes-256'),
	hash TEXT NOT NULL DEFAULT 'sha' CHECK (hash = 'md5' OR hash = 'sha' OR hash = 'sha256'),
	dh_group INTEGER NOT NULL DEFAULT 1 CHECK (dh_group = 1 OR dh_group = 2 OR dh_group = 5 OR dh_group = 14),
	lifetime_s INTEGER NOT NULL DEFAULT 86400 CHECK (lifetime_s BETWEEN 60 AND 2147483647)
);

-- isakmp key KEY address A [netmask M] [no-xauth] [no-config-mode]
CREATE TABLE isakmp_key (
	id INTEGER PRIMARY KEY,
	address TEXT NOT NULL CHECK (ip4(address) IS NOT NULL),
	netmask TEXT NOT NULL DEFAULT '255.255.255.255' CHECK (ip4_mask_ok(netmask)),
	key_secret TEXT,                        -- NULL: not set
	no_xauth INTEGER NOT NULL DEFAULT 0 CHECK (no_xauth IN (0, 1)),
	no_config_mode INTEGER NOT NULL DEFAULT 0 CHECK (no_config_mode IN (0, 1)),
	position INTEGER NOT NULL DEFAULT 0,
	UNIQUE (address, netmask)
);

-- isakmp client configuration address-pool local POOL [IF]
CREATE TABLE isakmp_client_pool (
	id INTEGER PRIMARY KEY,
	pool_id INTEGER NOT NULL REFERENCES ip_pool(id) ON DELETE RESTRICT,
	interface_id INTEGER REFERENCES interface(id) ON DELETE RESTRICT,
	UNIQUE (pool_id, interface_id)
);

CREATE TABLE transform_set (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	esp_encryption TEXT CHECK (esp_encryption IS NULL OR esp_encryption IN
		('esp-des', 'esp-3des', 'esp-aes', 'esp-aes-192', 'esp-aes-256', 'esp-null')),
	esp_authentication TEXT CHECK (esp_authentication IS NULL OR esp_authentication IN
		('esp-md5-hmac', 'esp-sha-hmac', 'esp-sha256-hmac')),
	ah TEXT CHECK (ah IS NULL OR ah IN ('ah-md5-hmac', 'ah-sha-hmac')),
	mode TEXT NOT NULL DEFAULT 'tunnel' CHECK (mode IN ('tunnel', 'transport')),
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (esp_encryption IS NOT NULL OR esp_authentication IS NOT NULL OR ah IS NOT NULL)
);

-- crypto map NAME SEQ ... and crypto dynamic-map NAME SEQ ... (is_dynamic = 1).
CREATE TABLE crypto_map_entry (
	id INTEGER PRIMARY KEY,
	map_name TEXT NOT NULL,
	is_dynamic INTEGER NOT NULL DEFAULT 0 CHECK (is_dynamic IN (0, 1)),
	seq INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 65535),
	kind TEXT NOT NULL DEFAULT 'ipsec-isakmp' CHECK (kind IN ('ipsec-isakmp', 'ipsec-manual')),
	dynamic_map_name TEXT,                  -- crypto map M N ipsec-isakmp dynamic D
	acl_id INTEGER REFERENCES access_list(id) ON DELETE RESTRICT,
	pfs_group INTEGER CHECK (pfs_group IS NULL OR (pfs_group = 1 OR pfs_group = 2 OR pfs_group = 5 OR pfs_group = 14)),
	lifetime_s INTEGER CHECK (lifetime_s IS NULL OR lifetime_s BETWEEN 120 AND 86400000),
	lifetime_kb INTEGER CHECK (lifetime_kb IS NULL OR lifetime_kb BETWEEN 2560 AND 2147483647),
	UNIQUE (map_name, is_dynamic, seq),
	CHECK (is_dynamic = 0 OR dynamic_map_name IS NULL)
);

CREATE TABLE crypto_map_transform (
	entry_id INTEGER NOT NULL REFERENCES crypto_map_entry(id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	transform_set_id INTEGER NOT NULL REFERENCES transform_set(id) ON DELETE RESTRICT,
	PRIMARY KEY (entry_id, position)
);

CREATE TABLE crypto_map_peer (
	entry_id INTEGER NOT NULL REFERENCES crypto_map_entry(id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	address TEXT NOT NULL CHECK (ip4(address) IS NOT NULL),
	PRIMARY KEY (entry_id, position)
);

-- Per crypto map name: client configuration address initiate|respond, client authentication GROUP.
CREATE TABLE crypto_map_option (
	map_name TEXT PRIMARY KEY,
	client_config_initiate INTEGER NOT NULL DEFAULT 0 CHECK (client_config_initiate IN (0, 1)),
	client_config_respond INTEGER NOT NULL DEFAULT 0 CHECK (client_config_respond IN (0, 1)),
	client_auth_group_id INTEGER REFERENCES aaa_server_group(id) ON DELETE RESTRICT,
	position INTEGER NOT NULL DEFAULT 0
);

-- crypto map NAME interface IF: a map may be bound to several interfaces, an interface to one map.
CREATE TABLE crypto_map_interface (
	interface_id INTEGER PRIMARY KEY REFERENCES interface(id) ON DELETE RESTRICT,
	map_name TEXT NOT NULL,
	position INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE vpngroup (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	pool_id INTEGER REFERENCES ip_pool(id) ON DELETE RESTRICT,
	dns_server1 TEXT CHECK (dns_server1 IS NULL OR ip4(dns_server1) IS NOT NULL),
	dns_server2 TEXT CHECK (dns_server2 IS NULL OR ip4(dns_server2) IS NOT NULL),
	wins_server1 TEXT CHECK (wins_server1 IS NULL OR ip4(wins_server1) IS NOT NULL),
	wins_server2 TEXT CHECK (wins_server2 IS NULL OR ip4(wins_server2) IS NOT NULL),
	default_domain TEXT,
	split_tunnel_acl_id INTEGER REFERENCES access_list(id) ON DELETE RESTRICT,
	split_dns TEXT,                         -- space-separated domain names
	idle_time_s INTEGER CHECK (idle_time_s IS NULL OR idle_time_s BETWEEN 60 AND 86400),
	max_time_s INTEGER CHECK (max_time_s IS NULL OR max_time_s BETWEEN 0 AND 31536000),
	password_secret TEXT,                   -- group password (Aggressive Mode PSK); NULL: not set
	has_password INTEGER NOT NULL DEFAULT 0 CHECK (has_password IN (0, 1)),
	pfs INTEGER NOT NULL DEFAULT 0 CHECK (pfs IN (0, 1)),
	backup_servers TEXT,                    -- space-separated addresses, or 'keep-client-config' / 'clear-client-config'
	banner TEXT,
	save_password INTEGER NOT NULL DEFAULT 0 CHECK (save_password IN (0, 1)),
	authentication_server_timeout_s INTEGER,
	device_pass_through INTEGER NOT NULL DEFAULT 0 CHECK (device_pass_through IN (0, 1)),
	secure_unit_authentication INTEGER NOT NULL DEFAULT 0 CHECK (secure_unit_authentication IN (0, 1)),
	user_authentication INTEGER NOT NULL DEFAULT 0 CHECK (user_authentication IN (0, 1)),
	user_idle_timeout_s INTEGER,
	position INTEGER NOT NULL DEFAULT 0
);

-- fixup protocol NAME [qualifier] [port[-port]] | [maximum-length N]; enabled 0 = "no fixup ..."
CREATE TABLE fixup (
	id INTEGER PRIMARY KEY,
	protocol TEXT NOT NULL,
	qualifier TEXT,                         -- h225, ras, udp, ...
	port_low INTEGER CHECK (port_low IS NULL OR port_low BETWEEN 1 AND 65535),
	port_high INTEGER CHECK (port_high IS NULL OR port_high BETWEEN 1 AND 65535),
	max_length INTEGER CHECK (max_length IS NULL OR max_length BETWEEN 512 AND 65535),
	enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	position INTEGER NOT NULL DEFAULT 0,
	CHECK (port_high IS NULL OR port_high >= port_low)
);

-- sysopt connection permit-ipsec, sysopt connection tcpmss 1380, ... value: 'on', 'off', or an argument.
CREATE TABLE sysopt (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL DEFAULT 'on'
);

-- telnet|ssh|http ADDR MASK IF (management access)
CREATE TABLE mgmt_access (
	id INTEGER PRIMARY KEY,
	service TEXT NOT NULL CHECK (service = 'telnet' OR service = 'ssh' OR service = 'http'),
	address TEXT NOT NULL CHECK (ip4(address) IS NOT NULL),
	netmask TEXT NOT NULL CHECK (ip4_mask_ok(netmask)),
	interface_id INTEGER NOT NULL REFERENCES interface(id) ON DELETE RESTRICT,
	position INTEGER NOT NULL DEFAULT 0,
	UNIQUE (service, address, netmask, interface_id)
);

-- Commands understood as PIX vocabulary but not enforced by Portcullis (logging, snmp-server,
-- failover, ip audit, pdm, ...) and commands not understood at all: kept verbatim so the export can
-- re-emit them in their place. section names the command family; after_line is the position of
-- the preceding line in the imported text (export places the line after that command's family).
CREATE TABLE passthrough_line (
	id INTEGER PRIMARY KEY,
	position INTEGER NOT NULL,
	section TEXT NOT NULL,
	text TEXT NOT NULL,
	supported INTEGER NOT NULL DEFAULT 0 CHECK (supported IN (0, 1)),
	reason TEXT
);

-- ---- runtime state that survives restarts ----

CREATE TABLE uauth_entry (
	id INTEGER PRIMARY KEY,
	username TEXT NOT NULL,
	address TEXT NOT NULL UNIQUE CHECK (ip4(address) IS NOT NULL),
	method TEXT NOT NULL CHECK (method = 'ipsec' OR method = 'http' OR method = 'ftp' OR method = 'telnet'),
	group_name TEXT,
	created_at_ms INTEGER NOT NULL,         -- epoch ms
	expires_at_ms INTEGER,                  -- epoch ms; NULL: while the tunnel lasts (ipsec)
	inactivity INTEGER NOT NULL DEFAULT 0 CHECK (inactivity IN (0, 1))
);

-- Accounting records: written here first, delivered afterwards, never deleted by delivery.
CREATE TABLE acct_record (
	id INTEGER PRIMARY KEY,
	created_at_ms INTEGER NOT NULL,         -- epoch ms when the event happened
	record_type TEXT NOT NULL CHECK (record_type = 'start' OR record_type = 'stop' OR record_type = 'interim'),
	session_id TEXT NOT NULL,
	task_id INTEGER NOT NULL,
	username TEXT NOT NULL,
	group_name TEXT,
	caller_address TEXT,                    -- pool address (ipsec) or source address (cut-through)
	peer_address TEXT,                      -- the client's public address
	nas_address TEXT,
	service TEXT NOT NULL,                  -- ipsec, telnet, http, ftp, tcp/PORT
	protocol TEXT,
	elapsed_s INTEGER NOT NULL DEFAULT 0,
	bytes_in INTEGER NOT NULL DEFAULT 0,
	bytes_out INTEGER NOT NULL DEFAULT 0,
	packets_in INTEGER NOT NULL DEFAULT 0,
	packets_out INTEGER NOT NULL DEFAULT 0,
	terminate_cause TEXT,
	server_group TEXT,                      -- aaa-server group the record goes to
	state TEXT NOT NULL DEFAULT 'pending' CHECK (state = 'pending' OR state = 'delivered' OR state = 'failed'),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
	delivered_at_ms INTEGER,
	delivered_to TEXT,
	last_error TEXT,
	possible_duplicate INTEGER NOT NULL DEFAULT 0 CHECK (possible_duplicate IN (0, 1))
);
CREATE INDEX acct_record_pending ON acct_record(state, next_attempt_at_ms);
CREATE INDEX acct_record_user_time ON acct_record(username, created_at_ms);
CREATE INDEX acct_record_time ON acct_record(created_at_ms);

-- ---- administration ----

CREATE TABLE admin_user (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
	password_hash TEXT NOT NULL,
	hash_kind TEXT NOT NULL CHECK (hash_kind = 'pbkdf2-sha256' OR hash_kind = 'scrypt' OR hash_kind = 'pix-md5'),
	created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
	last_login_at TEXT
);

CREATE TABLE api_token (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
	token_hash TEXT NOT NULL UNIQUE,        -- SHA-256 of the token, hex
	read_only INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1)),
	created_by TEXT,
	created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
	revoked_at TEXT,
	last_used_at TEXT
);

CREATE TABLE admin_session (
	id INTEGER PRIMARY KEY,
	session_hash TEXT NOT NULL UNIQUE,      -- SHA-256 of the cookie value, hex
	csrf_token TEXT NOT NULL,
	admin_id INTEGER REFERENCES admin_user(id) ON DELETE CASCADE,
	admin_name TEXT NOT NULL,
	created_at_ms INTEGER NOT NULL,
	expires_at_ms INTEGER NOT NULL,
	peer_address TEXT
);

CREATE TABLE audit_log (
	id INTEGER PRIMARY KEY,
	at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
	actor TEXT NOT NULL,                    -- admin name, token name, 'cli', 'system'
	action TEXT NOT NULL,                   -- create, replace, patch, delete, import, clear, login, ...
	object TEXT NOT NULL,                   -- resource path, e.g. /api/v1/pools/3
	before_json TEXT,
	after_json TEXT,
	source TEXT                             -- peer address or 'cli'
);
CREATE INDEX audit_log_at ON audit_log(at);
