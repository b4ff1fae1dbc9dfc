/* The seed configuration's IKE rows (pix-6.3.3-running-config.cfg plus the secrets the seed
 * document gives), inserted with SQL because the PIX importer is written in parallel. */
#ifndef PORTCULLIS_TESTS_IKE_SEED_H
#define PORTCULLIS_TESTS_IKE_SEED_H

#define IKE_SEED_SQL                                                                               \
	"INSERT INTO isakmp_policy VALUES (10, 'pre-share', 'des', 'md5', 2, 86400);"              \
	"INSERT INTO isakmp_policy VALUES (20, 'pre-share', 'des', 'md5', 1, 86400);"              \
	"INSERT INTO isakmp_key (address, netmask, key_secret) VALUES ('0.0.0.0', '0.0.0.0', "     \
	"'cisco1234');"                                                                            \
	"INSERT INTO ip_pool (id, name, start_address, end_address) VALUES (1, 'VPNpool', "        \
	"'10.89.129.200', '10.89.129.204');"                                                       \
	"INSERT INTO isakmp_client_pool (pool_id) VALUES (1);"                                     \
	"INSERT INTO vpngroup (name, pool_id, idle_time_s, password_secret, has_password) VALUES " \
	"('vpn3000', 1, 1800, 'vpnsecret', 1);"                                                    \
	"INSERT INTO transform_set (id, name, esp_encryption, esp_authentication) VALUES (1, "     \
	"'myset', 'esp-des', 'esp-md5-hmac');"                                                     \
	"INSERT INTO crypto_map_entry (id, map_name, is_dynamic, seq) VALUES (1, 'dynmap', 1, "    \
	"10);"                                                                                     \
	"INSERT INTO crypto_map_transform VALUES (1, 1, 1);"                                       \
	"INSERT INTO crypto_map_entry (id, map_name, is_dynamic, seq, dynamic_map_name) VALUES "   \
	"(2, 'mymap', 0, 10, 'dynmap');"                                                           \
	"INSERT INTO aaa_server_group (id, name, protocol) VALUES (1, 'AuthInbound', "             \
	"'tacacs+');"                                                                              \
	"INSERT INTO crypto_map_option (map_name, client_config_initiate, "                        \
	"client_config_respond, client_auth_group_id) VALUES ('mymap', 1, 1, 1);"

#endif
