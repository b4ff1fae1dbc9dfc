-- The data-plane rows of the seed (shared/seed/pix-6.3.3-running-config.cfg), as the PIX importer
-- would write them. Used by tests/unit/nat_plan_test.c and tests/integration/nat_*_test.sh.
INSERT INTO interface (id, hw_name, speed, nameif, security, ip_mode, address, netmask, mtu, position)
VALUES (1, 'ethernet0', '100full', 'outside', 0, 'static', '192.168.1.1', '255.255.255.0', 1500, 0),
       (2, 'ethernet1', '100full', 'inside', 100, 'static', '10.89.129.194', '255.255.255.240', 1500, 1);
INSERT INTO fixup (protocol, qualifier, port_low, port_high, max_length, position) VALUES
	('dns', NULL, NULL, NULL, 512, 0), ('ftp', NULL, 21, NULL, NULL, 1),
	('h323', 'h225', 1720, NULL, NULL, 2), ('h323', 'ras', 1718, 1719, NULL, 3),
	('http', NULL, 80, NULL, NULL, 4), ('rsh', NULL, 514, NULL, NULL, 5),
	('rtsp', NULL, 554, NULL, NULL, 6), ('sip', NULL, 5060, NULL, NULL, 7),
	('sip', 'udp', 5060, NULL, NULL, 8), ('skinny', NULL, 2000, NULL, NULL, 9),
	('smtp', NULL, 25, NULL, NULL, 10), ('sqlnet', NULL, 1521, NULL, NULL, 11),
	('tftp', NULL, 69, NULL, NULL, 12);
INSERT INTO access_list (id, name, position) VALUES (1, '101', 0), (2, '120', 1);
INSERT INTO access_list_entry (id, acl_id, position, action, protocol, src_kind, src_address,
	src_netmask, dst_kind, dst_address, dst_netmask) VALUES
	(1, 1, 0, 'permit', 'ip', 'network', '10.89.129.128', '255.255.255.240', 'network',
	 '10.89.129.192', '255.255.255.240');
INSERT INTO access_list_entry (id, acl_id, position, action, protocol, src_kind, dst_kind,
	dst_address, dst_netmask) VALUES
	(2, 2, 0, 'permit', 'icmp', 'any', 'host', '10.89.129.131', '255.255.255.255'),
	(3, 2, 1, 'permit', 'tcp', 'any', 'host', '10.89.129.131', '255.255.255.255'),
	(4, 2, 2, 'permit', 'udp', 'any', 'host', '10.89.129.131', '255.255.255.255');
INSERT INTO ip_pool (name, start_address, end_address) VALUES ('VPNpool', '10.89.129.200', '10.89.129.204');
INSERT INTO nat_global (interface_id, nat_id, kind, start_address, end_address)
VALUES (1, 1, 'range', '192.168.1.6', '192.168.1.10');
INSERT INTO nat_rule (interface_id, nat_id, acl_id, position) VALUES (2, 0, 1, 0);
INSERT INTO nat_rule (interface_id, nat_id, address, netmask, position) VALUES (2, 1, '0.0.0.0', '0.0.0.0', 1);
INSERT INTO nat_static (real_interface_id, mapped_interface_id, mapped_address, real_address, netmask)
VALUES (2, 1, '192.168.1.11', '10.89.129.131', '255.255.255.255');
INSERT INTO access_group (acl_id, interface_id, direction) VALUES (2, 1, 'in');
INSERT INTO route (interface_id, destination, netmask, gateway, metric, position) VALUES
	(1, '0.0.0.0', '0.0.0.0', '192.168.1.3', 1, 0),
	(2, '10.89.129.128', '255.255.255.128', '10.89.129.193', 1, 1);
INSERT INTO timeout (name, seconds, option) VALUES ('uauth', 300, 'absolute');
INSERT INTO aaa_server_group (id, name, protocol) VALUES (1, 'AuthInbound', 'tacacs+');
INSERT INTO aaa_rule (kind, action, service, interface_id, local_address, local_netmask,
	foreign_address, foreign_netmask, group_id, position) VALUES
	('authentication', 'include', 'http', 1, '10.89.129.131', '255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 0),
	('authentication', 'include', 'ftp', 1, '10.89.129.131', '255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 1),
	('authentication', 'include', 'telnet', 1, '10.89.129.131', '255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 2);
INSERT INTO sysopt (name, value) VALUES ('connection permit-ipsec', 'on');
