-- A version-1 catalog, as written by the release before column lineage (schema version 2): the dump of a
-- catalog made by that code (tests/catalog/test_schema.py opens it and expects it migrated, data intact).
BEGIN TRANSACTION;
CREATE TABLE asset (
	name VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	"group" VARCHAR NOT NULL, 
	description VARCHAR NOT NULL, 
	code_version VARCHAR NOT NULL, 
	upstream JSON NOT NULL, 
	tags JSON NOT NULL, 
	owners JSON NOT NULL, 
	file VARCHAR NOT NULL, 
	line INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (name)
);
INSERT INTO "asset" VALUES('raw','source','default','','','[]','[]','[]','',0,'2024-05-01 12:00:05.000000');
INSERT INTO "asset" VALUES('orders','sql','default','','','["raw"]','[]','[]','models/orders.sql',1,'2024-05-01 12:00:05.000000');
INSERT INTO "asset" VALUES('report','python','marts','','','["orders"]','["daily"]','[]','',0,'2024-05-01 12:00:05.000000');
CREATE TABLE asset_state (
	asset VARCHAR NOT NULL, 
	materialization_id INTEGER, 
	failure_id INTEGER, 
	observation_id INTEGER, 
	PRIMARY KEY (asset), 
	FOREIGN KEY(materialization_id) REFERENCES materialization (id), 
	FOREIGN KEY(failure_id) REFERENCES failure (id), 
	FOREIGN KEY(observation_id) REFERENCES observation (id)
)
 WITHOUT ROWID

;
INSERT INTO "asset_state" VALUES('orders',1,NULL,NULL);
INSERT INTO "asset_state" VALUES('raw',NULL,NULL,1);
INSERT INTO "asset_state" VALUES('report',NULL,1,NULL);
CREATE TABLE catalog_meta (
	"key" VARCHAR NOT NULL, 
	value VARCHAR NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "catalog_meta" VALUES('schema_version','1');
CREATE TABLE event (
	id INTEGER NOT NULL, 
	run_id VARCHAR NOT NULL, 
	asset VARCHAR, 
	kind VARCHAR NOT NULL, 
	level VARCHAR NOT NULL, 
	message VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "event" VALUES(1,'r1','orders','materialized','INFO','materialized orders','2024-05-01 12:00:00.000000');
INSERT INTO "event" VALUES(2,'r1','report','failed','ERROR','failed report','2024-05-01 12:00:00.000000');
CREATE TABLE failure (
	id INTEGER NOT NULL, 
	asset VARCHAR NOT NULL, 
	run_id VARCHAR NOT NULL, 
	partition VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	error VARCHAR NOT NULL, 
	traceback VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "failure" VALUES(1,'report','r1','',1,'boom','Traceback: boom','2024-05-01 12:00:00.000000');
CREATE TABLE lineage_edge (
	upstream VARCHAR NOT NULL, 
	downstream VARCHAR NOT NULL, 
	PRIMARY KEY (upstream, downstream)
);
INSERT INTO "lineage_edge" VALUES('orders','report');
INSERT INTO "lineage_edge" VALUES('raw','orders');
CREATE TABLE materialization (
	id INTEGER NOT NULL, 
	asset VARCHAR NOT NULL, 
	run_id VARCHAR NOT NULL, 
	partition VARCHAR NOT NULL, 
	data_version VARCHAR NOT NULL, 
	code_version VARCHAR NOT NULL, 
	upstream_versions JSON NOT NULL, 
	location VARCHAR NOT NULL, 
	rows INTEGER, 
	schema JSON, 
	bytes INTEGER NOT NULL, 
	duration FLOAT NOT NULL, 
	metadata JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "materialization" VALUES(1,'orders','r1','','v1','c1','{}','orders/v1.parquet',3,'[["id","Int64"]]',100,0.25,'{}','2024-05-01 12:00:00.000000');
CREATE TABLE observation (
	id INTEGER NOT NULL, 
	asset VARCHAR NOT NULL, 
	run_id VARCHAR NOT NULL, 
	data_version VARCHAR NOT NULL, 
	fingerprint VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "observation" VALUES(1,'raw','r1','o1','fingerprint-o1','2024-05-01 12:00:00.000000');
CREATE TABLE run (
	run_id VARCHAR NOT NULL, 
	"trigger" VARCHAR NOT NULL, 
	selection JSON NOT NULL, 
	status VARCHAR NOT NULL, 
	started_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	pid INTEGER, 
	heartbeat_at DATETIME, 
	PRIMARY KEY (run_id)
);
INSERT INTO "run" VALUES('r1','manual','[]','failed','2024-05-01 12:00:00.000000','2024-05-01 12:00:05.000000',NULL,'2024-05-01 12:00:05.000000');
CREATE INDEX ix_lineage_edge_downstream ON lineage_edge (downstream);
CREATE INDEX ix_run_status ON run (status);
CREATE INDEX ix_run_started_at ON run (started_at);
CREATE INDEX ix_materialization_run_id ON materialization (run_id);
CREATE INDEX ix_materialization_asset ON materialization (asset);
CREATE INDEX ix_failure_asset ON failure (asset);
CREATE INDEX ix_failure_run_id ON failure (run_id);
CREATE INDEX ix_observation_asset ON observation (asset);
CREATE INDEX ix_observation_run_id ON observation (run_id);
CREATE INDEX ix_event_run_id_kind_asset ON event (run_id, kind, asset);
CREATE INDEX ix_event_asset ON event (asset);
COMMIT;
