/* The SQL migrations compiled into the program (generated from migrations/NNNN_name.sql). */
#ifndef PORTCULLIS_DB_MIGRATIONS_H
#define PORTCULLIS_DB_MIGRATIONS_H

struct db_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct db_migration db_migrations[];
extern const int db_migration_count;

#endif
