// One description per configuration resource of the API (fields = columns of
// migrations/0001_initial.sql). The config pages, tables, forms and security warnings are all
// generated from this table.
//
// Field: {name, label, type, required, options, ref, help, min, max, readonlyOnEdit}
//   type: text | int | ip | mask | select | bool | secret | ref | list | rows | textarea
//   ref:  {res, key} -> a select of the names of another resource (sent by name, as the PIX does)
//   rows: {fields: [...]} -> inline array of objects (hosts, members, entries)
// warn(values) -> {fieldName: "why this weakens security"} shown live next to the field.

const IFACE = {res: 'interfaces', key: 'nameif'};
const ACL = {res: 'access-lists', key: 'name'};
const POOL = {res: 'pools', key: 'name'};
const AAA_GROUP = {res: 'aaa-server-groups', key: 'name'};

// PIX-style one-line summaries of inline rows, for the tables
function endpoint(e, side) {
	const k = e[`${side}_kind`];
	if (k === 'host') return `host ${e[`${side}_address`]}`;
	if (k === 'network') return `${e[`${side}_address`]} ${e[`${side}_netmask`]}`;
	if (k === 'group') return `object-group ${e[`${side}_group`] ?? ''}`;
	if (k === 'interface') return `interface ${e[`${side}_interface`] ?? ''}`;
	return k || '';
}

function ports(e, side) {
	const op = e[`${side}_port_op`];
	if (!op) return '';
	return op === 'range' ? ` range ${e[`${side}_port_low`]} ${e[`${side}_port_high`]}` : ` ${op} ${e[`${side}_port_low`]}`;
}

function aclLine(e) {
	if (e.action === 'remark') return `remark ${e.remark ?? ''}`;
	return [e.action, e.protocol ?? `object-group ${e.protocol_group ?? ''}`,
		endpoint(e, 'src') + ports(e, 'src'), endpoint(e, 'dst') + ports(e, 'dst'),
		e.icmp_type ?? '', e.log ? 'log' : ''].filter(Boolean).join(' ');
}

export const WEAK = {
	des: 'Single DES has a 56-bit key: it was broken by brute force in 1998 and can be cracked in about a day with rented hardware. Use AES (or at least 3DES).',
	md5: 'MD5 is broken for collisions. As an HMAC it is still hard to forge, but it is deprecated and gives no margin; use SHA.',
	group1: 'Diffie-Hellman group 1 (768-bit MODP) is within reach of well-funded attackers (Logjam); a recorded handshake can be decrypted later. Use group 2 at the very least, preferably group 14.',
	aggressive: 'This group password is used as the pre-shared key for Aggressive Mode. Aggressive Mode with a pre-shared key lets anyone who captures the handshake (or just asks the gateway for one with the group name) crack the key offline (ike-scan + psk-crack); a weak group password falls in minutes. Use a long random password and rely on Xauth for users, or use certificates.',
	wildcard: 'A wildcard pre-shared key (address 0.0.0.0 netmask 0.0.0.0) is the same secret for every peer: anyone who learns it can impersonate this gateway to every client. Keep it long and random, and require Xauth.',
	noXauth: 'no-xauth lets a peer in with only the pre-shared key: no per-user authentication, no uauth entry and no accounting for the user.',
	espNull: 'esp-null encrypts nothing: the traffic crosses the network in clear text.',
	noAuth: 'No ESP authentication: the tunnel traffic can be modified in transit without detection.',
};

export const GROUPS = [
	{title: 'Interfaces and addressing', items: ['interfaces', 'names', 'routes']},
	{title: 'NAT', items: ['nat-globals', 'nat-rules', 'statics']},
	{title: 'Access control', items: ['object-groups', 'access-lists', 'access-groups']},
	{title: 'AAA', items: ['aaa-server-groups', 'aaa-rules', 'aaa-console', 'local-users']},
	{title: 'VPN', items: ['pools', 'isakmp-interfaces', 'isakmp-client-pools', 'isakmp-policies', 'isakmp-keys', 'transform-sets', 'crypto-maps', 'crypto-map-options', 'vpngroups']},
	{title: 'System', items: ['timeouts', 'fixups', 'sysopts', 'settings', 'mgmt-access']},
];

export const RESOURCES = {
	interfaces: {
		title: 'Interfaces',
		about: 'Physical and VLAN interfaces: PIX `interface`, `nameif`, `ip address`, `mtu`.',
		label: (r) => r.nameif || r.hw_name,
		columns: ['hw_name', 'nameif', 'security', 'ip_mode', 'address', 'netmask', 'speed', 'mtu', 'shutdown'],
		fields: [
			{name: 'hw_name', label: 'Hardware name', type: 'text', required: true, help: 'e.g. ethernet0'},
			{name: 'linux_name', label: 'Linux device', type: 'text', help: 'blank: ethernetN -> ethN'},
			{name: 'nameif', label: 'Name (nameif)', type: 'text', help: 'e.g. outside, inside'},
			{name: 'security', label: 'Security level', type: 'int', min: 0, max: 100},
			{name: 'speed', label: 'Speed', type: 'select', options: ['auto', '10baset', '10full', '100basetx', '100full', '1000auto', '1000full']},
			{name: 'shutdown', label: 'Shut down', type: 'bool'},
			{name: 'ip_mode', label: 'Address mode', type: 'select', options: ['none', 'static', 'dhcp', 'pppoe']},
			{name: 'address', label: 'IP address', type: 'ip'},
			{name: 'netmask', label: 'Netmask', type: 'mask'},
			{name: 'mtu', label: 'MTU', type: 'int', placeholder: 'default 1500', min: 64, max: 65535},
			{name: 'vlan', label: 'VLAN', type: 'int', min: 1, max: 4094},
		],
	},
	names: {
		title: 'Names',
		about: 'PIX `name ADDRESS NAME` aliases.',
		label: (r) => r.name,
		columns: ['name', 'address'],
		fields: [
			{name: 'name', label: 'Name', type: 'text', required: true},
			{name: 'address', label: 'Address', type: 'ip', required: true},
		],
	},
	routes: {
		title: 'Routes',
		about: 'Static routes: `route IF DEST MASK GATEWAY [METRIC]`.',
		label: (r) => `${r.destination}/${r.netmask} via ${r.gateway}`,
		columns: ['interface', 'destination', 'netmask', 'gateway', 'metric'],
		fields: [
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE, required: true},
			{name: 'destination', label: 'Destination', type: 'ip', required: true},
			{name: 'netmask', label: 'Netmask', type: 'mask', required: true},
			{name: 'gateway', label: 'Gateway', type: 'ip', required: true},
			{name: 'metric', label: 'Metric', type: 'int', placeholder: 'default 1', min: 1, max: 255},
		],
	},
	'nat-globals': {
		title: 'NAT global pools',
		about: '`global (IF) ID start[-end] [netmask M]` or `global (IF) ID interface`.',
		label: (r) => `global (${r.interface}) ${r.nat_id}`,
		columns: ['interface', 'nat_id', 'kind', 'start_address', 'end_address', 'netmask'],
		fields: [
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE, required: true},
			{name: 'nat_id', label: 'NAT ID', type: 'int', required: true, min: 1},
			{name: 'kind', label: 'Kind', type: 'select', options: ['range', 'pat', 'interface'], required: true},
			{name: 'start_address', label: 'Start address', type: 'ip'},
			{name: 'end_address', label: 'End address', type: 'ip'},
			{name: 'netmask', label: 'Netmask', type: 'mask'},
		],
	},
	'nat-rules': {
		title: 'NAT rules',
		about: '`nat (IF) ID ADDRESS MASK` and NAT exemption `nat (IF) 0 access-list ACL`.',
		label: (r) => `nat (${r.interface}) ${r.nat_id}`,
		columns: ['interface', 'nat_id', 'access_list', 'address', 'netmask', 'outside', 'dns'],
		fields: [
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE, required: true},
			{name: 'nat_id', label: 'NAT ID', type: 'int', required: true, min: 0, help: '0 with an access list = exemption'},
			{name: 'access_list', label: 'Access list', type: 'ref', ref: ACL},
			{name: 'address', label: 'Address', type: 'ip'},
			{name: 'netmask', label: 'Netmask', type: 'mask'},
			{name: 'outside', label: 'outside', type: 'bool'},
			{name: 'dns', label: 'dns', type: 'bool'},
			{name: 'norandomseq', label: 'norandomseq', type: 'bool'},
			{name: 'max_conns', label: 'Max connections', type: 'int', min: 0},
			{name: 'emb_limit', label: 'Embryonic limit', type: 'int', min: 0},
		],
	},
	statics: {
		title: 'Static translations',
		about: '`static (real_if,mapped_if) [tcp|udp] MAPPED [port] REAL [port] netmask M`.',
		label: (r) => `static ${r.mapped_address || r.mapped_kind} -> ${r.real_address || r.access_list}`,
		columns: ['real_interface', 'mapped_interface', 'protocol', 'mapped_address', 'mapped_port', 'real_address', 'real_port', 'netmask'],
		fields: [
			{name: 'real_interface', label: 'Real interface', type: 'ref', ref: IFACE, required: true},
			{name: 'mapped_interface', label: 'Mapped interface', type: 'ref', ref: IFACE, required: true},
			{name: 'protocol', label: 'Protocol', type: 'select', options: ['', 'tcp', 'udp'], help: 'blank: all (static NAT); tcp/udp: port redirection'},
			{name: 'mapped_kind', label: 'Mapped to', type: 'select', options: ['address', 'interface']},
			{name: 'mapped_address', label: 'Mapped address', type: 'ip'},
			{name: 'mapped_port', label: 'Mapped port', type: 'int', min: 0, max: 65535},
			{name: 'real_address', label: 'Real address', type: 'ip'},
			{name: 'real_port', label: 'Real port', type: 'int', min: 0, max: 65535},
			{name: 'access_list', label: 'Access list (policy static)', type: 'ref', ref: ACL},
			{name: 'netmask', label: 'Netmask', type: 'mask'},
			{name: 'dns', label: 'dns', type: 'bool'},
			{name: 'norandomseq', label: 'norandomseq', type: 'bool'},
			{name: 'max_conns', label: 'Max connections', type: 'int', min: 0},
			{name: 'emb_limit', label: 'Embryonic limit', type: 'int', min: 0},
		],
	},
	'object-groups': {
		title: 'Object groups',
		about: '`object-group network|service|protocol|icmp-type NAME` with members.',
		label: (r) => r.name,
		columns: ['name', 'kind', 'service_protocol', 'description', 'members'],
		fields: [
			{name: 'name', label: 'Name', type: 'text', required: true},
			{name: 'kind', label: 'Kind', type: 'select', options: ['network', 'service', 'protocol', 'icmp-type'], required: true},
			{name: 'service_protocol', label: 'Service protocol', type: 'select', options: ['', 'tcp', 'udp', 'tcp-udp']},
			{name: 'description', label: 'Description', type: 'text'},
			{name: 'members', label: 'Members', one: 'member', type: 'rows',
				summary: (x) => [x.kind, x.address, x.netmask, x.port_op, x.port_low, x.port_high, x.value, x.ref_group].filter((v) => v !== null && v !== undefined && v !== '').join(' '), fields: [
				{name: 'kind', label: 'Kind', type: 'select', options: ['host', 'network', 'port', 'protocol', 'icmp-type', 'group']},
				{name: 'address', label: 'Address', type: 'ip'},
				{name: 'netmask', label: 'Netmask', type: 'mask'},
				{name: 'port_op', label: 'Port op', type: 'select', options: ['', 'eq', 'range']},
				{name: 'port_low', label: 'Port', type: 'int'},
				{name: 'port_high', label: 'Port high', type: 'int'},
				{name: 'value', label: 'Value / group', type: 'text'},
			]},
		],
	},
	'access-lists': {
		title: 'Access lists',
		about: '`access-list NAME permit|deny PROTO SRC DST` lines, in order.',
		label: (r) => r.name,
		columns: ['name', 'entries'],
		fields: [
			{name: 'name', label: 'Name', type: 'text', required: true},
			{name: 'entries', label: 'Entries', one: 'entry', type: 'rows', summary: aclLine, fields: [
				{name: 'action', label: 'Action', type: 'select', options: ['permit', 'deny', 'remark']},
				{name: 'protocol', label: 'Protocol', type: 'text', help: 'ip, tcp, udp, icmp, number'},
				{name: 'src_kind', label: 'Source', type: 'select', options: ['any', 'host', 'network', 'group', 'interface']},
				{name: 'src_address', label: 'Src address', type: 'ip'},
				{name: 'src_netmask', label: 'Src mask', type: 'mask'},
				{name: 'dst_kind', label: 'Destination', type: 'select', options: ['any', 'host', 'network', 'group', 'interface']},
				{name: 'dst_address', label: 'Dst address', type: 'ip'},
				{name: 'dst_netmask', label: 'Dst mask', type: 'mask'},
				{name: 'dst_port_op', label: 'Dst port op', type: 'select', options: ['', 'eq', 'neq', 'lt', 'gt', 'range']},
				{name: 'dst_port_low', label: 'Dst port', type: 'int'},
				{name: 'dst_port_high', label: 'Dst port high', type: 'int'},
				{name: 'remark', label: 'Remark', type: 'text'},
				{name: 'log', label: 'log', type: 'bool'},
			]},
		],
	},
	'access-groups': {
		title: 'Access groups',
		about: '`access-group ACL in|out interface IF`: binds an access list to an interface.',
		label: (r) => `${r.access_list} ${r.direction} ${r.interface}`,
		columns: ['access_list', 'direction', 'interface'],
		fields: [
			{name: 'access_list', label: 'Access list', type: 'ref', ref: ACL, required: true},
			{name: 'direction', label: 'Direction', type: 'select', options: ['in', 'out']},
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE, required: true},
		],
	},
	'aaa-server-groups': {
		title: 'AAA servers',
		about: '`aaa-server GROUP protocol tacacs+|radius|local` and its hosts with their keys.',
		label: (r) => r.name,
		columns: ['name', 'protocol', 'hosts', 'max_failed_attempts', 'deadtime_min', 'accounting_mode'],
		fields: [
			{name: 'name', label: 'Group name', type: 'text', required: true},
			{name: 'protocol', label: 'Protocol', type: 'select', options: ['tacacs+', 'radius', 'local'], required: true},
			{name: 'max_failed_attempts', label: 'Max failed attempts', type: 'int', placeholder: 'default 3', min: 1, max: 5},
			{name: 'deadtime_min', label: 'Dead time (minutes)', type: 'int', placeholder: 'default 10', min: 0, max: 1440},
			{name: 'accounting_mode', label: 'Accounting mode', type: 'select', options: ['single', 'simultaneous']},
			{name: 'fallback_local', label: 'Fall back to LOCAL', type: 'bool'},
			{name: 'hosts', label: 'Hosts', one: 'host', type: 'rows',
				summary: (x) => `${x.interface ? `(${x.interface}) ` : ''}host ${x.address}${x.key_set ? ' key set' : ' key not set'}`, fields: [
				{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE},
				{name: 'address', label: 'Address', type: 'ip'},
				{name: 'key', label: 'Key', type: 'secret'},
				{name: 'timeout_s', label: 'Timeout (s)', type: 'int', placeholder: 'default 5', min: 1, max: 300},
				{name: 'retries', label: 'Retries', type: 'int', placeholder: 'default 2', min: 0, max: 10},
				{name: 'auth_port', label: 'Auth port', type: 'int'},
				{name: 'acct_port', label: 'Acct port', type: 'int'},
			]},
		],
	},
	'aaa-rules': {
		title: 'AAA rules',
		about: '`aaa authentication|authorization|accounting include|exclude SERVICE IF LOCAL FOREIGN GROUP`.',
		label: (r) => `aaa ${r.kind} ${r.action} ${r.service || ''}`,
		columns: ['kind', 'action', 'service', 'interface', 'direction', 'local_address', 'foreign_address', 'server_group'],
		fields: [
			{name: 'kind', label: 'Kind', type: 'select', options: ['authentication', 'authorization', 'accounting'], required: true},
			{name: 'action', label: 'Action', type: 'select', options: ['include', 'exclude', 'match'], required: true},
			{name: 'service', label: 'Service', type: 'text', help: 'any, ftp, http, telnet, tcp/0, udp/53…'},
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE},
			{name: 'direction', label: 'Direction', type: 'select', options: ['', 'inbound', 'outbound']},
			{name: 'local_address', label: 'Local address', type: 'ip'},
			{name: 'local_netmask', label: 'Local netmask', type: 'mask'},
			{name: 'foreign_address', label: 'Foreign address', type: 'ip'},
			{name: 'foreign_netmask', label: 'Foreign netmask', type: 'mask'},
			{name: 'access_list', label: 'Access list (match)', type: 'ref', ref: ACL},
			{name: 'server_group', label: 'Server group', type: 'ref', ref: AAA_GROUP},
		],
	},
	'aaa-console': {
		title: 'Console authentication',
		about: '`aaa authentication serial|telnet|ssh|http|enable console GROUP`.',
		label: (r) => `${r.service} console`,
		columns: ['service', 'server_group'],
		fields: [
			{name: 'service', label: 'Service', type: 'select', options: ['serial', 'telnet', 'ssh', 'http', 'enable'], required: true},
			{name: 'server_group', label: 'Server group', type: 'ref', ref: AAA_GROUP, required: true},
		],
	},
	'local-users': {
		title: 'Local users',
		about: '`username NAME password … privilege N` (the LOCAL server group).',
		label: (r) => r.name,
		columns: ['name', 'password', 'privilege'],
		fields: [
			{name: 'name', label: 'User name', type: 'text', required: true},
			{name: 'password', label: 'Password', type: 'secret'},
			{name: 'privilege', label: 'Privilege', type: 'int', placeholder: 'default 2', min: 0, max: 15},
		],
	},
	pools: {
		title: 'Address pools',
		about: '`ip local pool NAME START-END`: addresses given to VPN clients by Mode Config.',
		label: (r) => r.name,
		columns: ['name', 'start_address', 'end_address', 'netmask'],
		fields: [
			{name: 'name', label: 'Pool name', type: 'text', required: true},
			{name: 'start_address', label: 'First address', type: 'ip', required: true},
			{name: 'end_address', label: 'Last address', type: 'ip', required: true},
			{name: 'netmask', label: 'Netmask', type: 'mask'},
		],
	},
	'isakmp-interfaces': {
		title: 'ISAKMP interfaces',
		about: '`isakmp enable IF`: interfaces that answer IKE on UDP 500/4500.',
		idKey: 'interface_id',
		label: (r) => `isakmp enable ${r.interface}`,
		columns: ['interface'],
		fields: [
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE, required: true, readonlyOnEdit: true},
		],
	},
	'isakmp-client-pools': {
		title: 'ISAKMP client pools',
		about: '`isakmp client configuration address-pool local POOL [IF]`: the pool Mode Config hands out.',
		label: (r) => `${r.pool} ${r.interface || ''}`,
		columns: ['pool', 'interface'],
		fields: [
			{name: 'pool', label: 'Pool', type: 'ref', ref: POOL, required: true},
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE},
		],
	},
	'isakmp-policies': {
		title: 'ISAKMP policies',
		about: '`isakmp policy N …`: the IKE phase 1 proposals the gateway accepts, lowest priority number first.',
		idKey: 'priority',
		label: (r) => `policy ${r.priority}`,
		columns: ['priority', 'authentication', 'encryption', 'hash', 'dh_group', 'lifetime_s'],
		fields: [
			{name: 'priority', label: 'Priority', type: 'int', required: true, min: 1, max: 65534, readonlyOnEdit: true},
			{name: 'authentication', label: 'Authentication', type: 'select', options: ['pre-share', 'rsa-sig', 'dsa-sig']},
			{name: 'encryption', label: 'Encryption', type: 'select', options: ['aes-256', 'aes-192', 'aes', '3des', 'des']},
			{name: 'hash', label: 'Hash', type: 'select', options: ['sha256', 'sha', 'md5']},
			{name: 'dh_group', label: 'DH group', type: 'select', options: ['14', '5', '2', '1'], int: true},
			{name: 'lifetime_s', label: 'Lifetime (s)', type: 'int', placeholder: 'default 86400', min: 60},
		],
		warn: (v) => ({
			encryption: v.encryption === 'des' ? WEAK.des : null,
			hash: v.hash === 'md5' ? WEAK.md5 : null,
			dh_group: String(v.dh_group) === '1' ? WEAK.group1 : null,
		}),
	},
	'isakmp-keys': {
		title: 'ISAKMP keys',
		about: '`isakmp key KEY address A netmask M`: pre-shared keys by peer address (Main Mode).',
		label: (r) => `${r.address}/${r.netmask}`,
		columns: ['address', 'netmask', 'key', 'no_xauth', 'no_config_mode'],
		fields: [
			{name: 'address', label: 'Peer address', type: 'ip', required: true},
			{name: 'netmask', label: 'Netmask', type: 'mask'},
			{name: 'key', label: 'Pre-shared key', type: 'secret'},
			{name: 'no_xauth', label: 'no-xauth', type: 'bool'},
			{name: 'no_config_mode', label: 'no-config-mode', type: 'bool'},
		],
		warn: (v) => ({
			address: v.address === '0.0.0.0' && (v.netmask === '0.0.0.0') ? WEAK.wildcard : null,
			no_xauth: v.no_xauth ? WEAK.noXauth : null,
		}),
	},
	'transform-sets': {
		title: 'Transform sets',
		about: '`crypto ipsec transform-set NAME …`: the ESP algorithms for IPsec (phase 2).',
		label: (r) => r.name,
		columns: ['name', 'esp_encryption', 'esp_authentication', 'ah', 'mode'],
		fields: [
			{name: 'name', label: 'Name', type: 'text', required: true},
			{name: 'esp_encryption', label: 'ESP encryption', type: 'select', options: ['', 'esp-aes-256', 'esp-aes-192', 'esp-aes', 'esp-3des', 'esp-des', 'esp-null']},
			{name: 'esp_authentication', label: 'ESP authentication', type: 'select', options: ['', 'esp-sha256-hmac', 'esp-sha-hmac', 'esp-md5-hmac']},
			{name: 'ah', label: 'AH', type: 'select', options: ['', 'ah-sha-hmac', 'ah-md5-hmac']},
			{name: 'mode', label: 'Mode', type: 'select', options: ['tunnel', 'transport']},
		],
		warn: (v) => ({
			esp_encryption: v.esp_encryption === 'esp-des' ? WEAK.des : v.esp_encryption === 'esp-null' ? WEAK.espNull : null,
			esp_authentication: v.esp_authentication === 'esp-md5-hmac' ? WEAK.md5
				: (!v.esp_authentication && !v.ah && v.esp_encryption ? WEAK.noAuth : null),
		}),
	},
	'crypto-maps': {
		title: 'Crypto maps',
		about: '`crypto map` and `crypto dynamic-map` entries: which transform sets and peers apply.',
		label: (r) => `${r.is_dynamic ? 'dynamic-map' : 'map'} ${r.map_name} ${r.seq}`,
		columns: ['map_name', 'is_dynamic', 'seq', 'kind', 'dynamic_map_name', 'transform_sets', 'peers', 'pfs_group'],
		fields: [
			{name: 'map_name', label: 'Map name', type: 'text', required: true},
			{name: 'is_dynamic', label: 'Dynamic map', type: 'bool'},
			{name: 'seq', label: 'Sequence', type: 'int', required: true, min: 1, max: 65535},
			{name: 'kind', label: 'Kind', type: 'select', options: ['ipsec-isakmp', 'ipsec-manual']},
			{name: 'dynamic_map_name', label: 'Uses dynamic map', type: 'text'},
			{name: 'access_list', label: 'Match access list', type: 'ref', ref: ACL},
			{name: 'transform_sets', label: 'Transform sets', type: 'list', help: 'names, separated by spaces or commas'},
			{name: 'peers', label: 'Peers', type: 'list', help: 'addresses, separated by spaces or commas'},
			{name: 'pfs_group', label: 'PFS group', type: 'select', options: ['', '14', '5', '2', '1'], int: true},
			{name: 'lifetime_s', label: 'Lifetime (s)', type: 'int', placeholder: 'global default'},
			{name: 'lifetime_kb', label: 'Lifetime (KB)', type: 'int'},
		],
		warn: (v) => ({pfs_group: String(v.pfs_group) === '1' ? WEAK.group1 : null}),
	},
	'crypto-map-options': {
		title: 'Crypto map options',
		about: '`crypto map NAME client configuration address …`, `client authentication GROUP`, `interface IF`.',
		idKey: 'map_name',
		label: (r) => r.map_name,
		columns: ['map_name', 'client_config_initiate', 'client_config_respond', 'client_auth_group', 'interface'],
		fields: [
			{name: 'map_name', label: 'Map name', type: 'text', required: true, readonlyOnEdit: true},
			{name: 'client_config_initiate', label: 'Client configuration: initiate', type: 'bool'},
			{name: 'client_config_respond', label: 'Client configuration: respond', type: 'bool'},
			{name: 'client_auth_group', label: 'Client authentication (Xauth) group', type: 'ref', ref: AAA_GROUP},
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE},
		],
		warn: (v) => ({client_auth_group: v.client_auth_group ? null : 'Without client authentication there is no Xauth: anyone with the group or wildcard key gets a tunnel, and no user is accounted for.'}),
	},
	vpngroups: {
		title: 'VPN groups',
		about: '`vpngroup NAME …`: settings pushed to Cisco VPN Clients of a group (Aggressive Mode, KEY_ID = group name).',
		label: (r) => r.name,
		columns: ['name', 'pool', 'password', 'idle_time_s', 'max_time_s', 'split_tunnel_acl'],
		fields: [
			{name: 'name', label: 'Group name', type: 'text', required: true},
			{name: 'pool', label: 'Address pool', type: 'ref', ref: POOL},
			{name: 'password', label: 'Group password (pre-shared key)', type: 'secret', wantedFlag: 'has_password'},
			{name: 'dns_server1', label: 'DNS server 1', type: 'ip'},
			{name: 'dns_server2', label: 'DNS server 2', type: 'ip'},
			{name: 'wins_server1', label: 'WINS server 1', type: 'ip'},
			{name: 'wins_server2', label: 'WINS server 2', type: 'ip'},
			{name: 'default_domain', label: 'Default domain', type: 'text'},
			{name: 'split_tunnel_acl', label: 'Split tunnel access list', type: 'ref', ref: ACL},
			{name: 'split_dns', label: 'Split DNS domains', type: 'text'},
			{name: 'idle_time_s', label: 'Idle time (s)', type: 'int', min: 60, max: 86400},
			{name: 'max_time_s', label: 'Max time (s)', type: 'int', min: 0},
			{name: 'pfs', label: 'PFS', type: 'bool'},
			{name: 'banner', label: 'Banner', type: 'textarea'},
		],
		warn: (v, item) => ({password: v.password || (item && (item.password_set || item.has_password)) ? WEAK.aggressive : null}),
	},
	timeouts: {
		title: 'Timeouts',
		about: '`timeout xlate|conn|uauth …` in seconds; uauth can be absolute or inactivity.',
		idKey: 'name',
		label: (r) => r.name,
		columns: ['name', 'seconds', 'option'],
		fields: [
			{name: 'name', label: 'Timer', type: 'text', required: true, readonlyOnEdit: true, help: 'xlate, conn, half-closed, udp, rpc, h225, h323, mgcp, sip, sip_media, uauth'},
			{name: 'seconds', label: 'Seconds', type: 'int', required: true, min: 0},
			{name: 'option', label: 'Option', type: 'select', options: ['', 'absolute', 'inactivity']},
		],
	},
	fixups: {
		title: 'Fixups',
		about: '`fixup protocol NAME [qualifier] PORT[-PORT]`: application inspection.',
		label: (r) => `fixup ${r.protocol} ${r.qualifier || ''}`,
		columns: ['protocol', 'qualifier', 'port_low', 'port_high', 'max_length', 'enabled'],
		fields: [
			{name: 'protocol', label: 'Protocol', type: 'text', required: true},
			{name: 'qualifier', label: 'Qualifier', type: 'text', help: 'e.g. h225, ras, udp'},
			{name: 'port_low', label: 'Port', type: 'int', min: 1, max: 65535},
			{name: 'port_high', label: 'Port (range end)', type: 'int', min: 1, max: 65535},
			{name: 'max_length', label: 'Maximum length', type: 'int', min: 512, max: 65535},
			{name: 'enabled', label: 'Enabled', type: 'bool', default: true},
		],
	},
	sysopts: {
		title: 'System options',
		about: '`sysopt connection permit-ipsec` and friends.',
		idKey: 'name',
		label: (r) => r.name,
		columns: ['name', 'value'],
		fields: [
			{name: 'name', label: 'Option', type: 'text', required: true, readonlyOnEdit: true},
			{name: 'value', label: 'Value', type: 'text', help: 'on, off, or an argument'},
		],
	},
	settings: {
		title: 'Settings',
		about: 'Scalar settings: hostname, domain-name, pager lines, arp timeout, isakmp identity…',
		idKey: 'name',
		label: (r) => r.name,
		columns: ['name', 'value'],
		fields: [
			{name: 'name', label: 'Setting', type: 'text', required: true, readonlyOnEdit: true},
			{name: 'value', label: 'Value', type: 'text', required: true},
		],
	},
	'mgmt-access': {
		title: 'Management access',
		about: '`telnet|ssh|http ADDRESS MASK IF`: who may manage the gateway, from where.',
		label: (r) => `${r.service} ${r.address} ${r.netmask} ${r.interface}`,
		columns: ['service', 'address', 'netmask', 'interface'],
		fields: [
			{name: 'service', label: 'Service', type: 'select', options: ['ssh', 'http', 'telnet'], required: true},
			{name: 'address', label: 'Address', type: 'ip', required: true},
			{name: 'netmask', label: 'Netmask', type: 'mask', required: true},
			{name: 'interface', label: 'Interface', type: 'ref', ref: IFACE, required: true},
		],
		warn: (v) => ({service: v.service === 'telnet' ? 'Telnet sends the management password and the whole session in clear text; use ssh.' : null}),
	},
};
