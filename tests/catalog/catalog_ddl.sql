-- sqlite
CREATE TABLE catalog_meta (
	"key" VARCHAR NOT NULL,
	value VARCHAR NOT NULL,
	PRIMARY KEY ("key")
);
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
CREATE TABLE lineage_edge (
	upstream VARCHAR NOT NULL,
	downstream VARCHAR NOT NULL,
	PRIMARY KEY (upstream, downstream)
);
CREATE INDEX ix_lineage_edge_downstream ON lineage_edge (downstream);
CREATE TABLE column_lineage (
	asset VARCHAR NOT NULL,
	"key" VARCHAR NOT NULL,
	lineage JSON NOT NULL,
	PRIMARY KEY (asset)
);
CREATE TABLE column_edge (
	asset VARCHAR NOT NULL,
	"column" VARCHAR NOT NULL,
	upstream_asset VARCHAR NOT NULL,
	upstream_column VARCHAR NOT NULL,
	PRIMARY KEY (asset, "column", upstream_asset, upstream_column)
);
CREATE INDEX ix_column_edge_upstream ON column_edge (upstream_asset, upstream_column);
CREATE TABLE run (
	run_id VARCHAR NOT NULL,
	"trigger" VARCHAR NOT NULL,
	selection JSON NOT NULL,
	status VARCHAR NOT NULL,
	started_at DATETIME NOT NULL,
	ended_at DATETIME,
	pid INTEGER,
	heartbeat_at DATETIME,
	host VARCHAR NOT NULL,
	"plan" JSON NOT NULL,
	PRIMARY KEY (run_id)
);
CREATE INDEX ix_run_started_at ON run (started_at);
CREATE INDEX ix_run_status ON run (status);
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
CREATE INDEX ix_materialization_asset ON materialization (asset);
CREATE INDEX ix_materialization_run_id ON materialization (run_id);
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
CREATE INDEX ix_failure_asset ON failure (asset);
CREATE INDEX ix_failure_run_id ON failure (run_id);
CREATE TABLE observation (
	id INTEGER NOT NULL,
	asset VARCHAR NOT NULL,
	run_id VARCHAR NOT NULL,
	data_version VARCHAR NOT NULL,
	fingerprint VARCHAR NOT NULL,
	partition VARCHAR NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_observation_asset ON observation (asset);
CREATE INDEX ix_observation_run_id ON observation (run_id);
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
CREATE INDEX ix_event_asset ON event (asset);
CREATE INDEX ix_event_run_id_kind_asset ON event (run_id, kind, asset);
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
 WITHOUT ROWID;
CREATE TABLE lease (
	asset VARCHAR NOT NULL,
	run_id VARCHAR NOT NULL,
	acquired_at DATETIME NOT NULL,
	PRIMARY KEY (asset)
);
CREATE INDEX ix_lease_run_id ON lease (run_id);
CREATE TABLE check_result (
	id INTEGER NOT NULL,
	run_id VARCHAR NOT NULL,
	asset VARCHAR NOT NULL,
	"check" VARCHAR NOT NULL,
	passed BOOLEAN NOT NULL,
	blocking BOOLEAN NOT NULL,
	message VARCHAR NOT NULL,
	metadata JSON NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_check_result_asset_id ON check_result (asset, id);
CREATE INDEX ix_check_result_run_id ON check_result (run_id);
CREATE TABLE dynamic_partition (
	name VARCHAR NOT NULL,
	"key" VARCHAR NOT NULL,
	position INTEGER NOT NULL,
	added_at DATETIME NOT NULL,
	PRIMARY KEY (name, "key")
);
CREATE TABLE backfill (
	backfill_id VARCHAR NOT NULL,
	selection JSON NOT NULL,
	partitions VARCHAR NOT NULL,
	reprocess VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	targets JSON NOT NULL,
	created_at DATETIME NOT NULL,
	ended_at DATETIME,
	PRIMARY KEY (backfill_id)
);
CREATE INDEX ix_backfill_status ON backfill (status);
CREATE TABLE automation_state (
	name VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	paused BOOLEAN NOT NULL,
	cursor TEXT,
	last_tick DATETIME,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (name)
);
CREATE TABLE tick (
	id INTEGER NOT NULL,
	tick_id VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	reason TEXT NOT NULL,
	evaluated_at DATETIME NOT NULL,
	scheduled_for DATETIME,
	error TEXT,
	PRIMARY KEY (id),
	UNIQUE (tick_id)
);
CREATE INDEX ix_tick_evaluated_at ON tick (evaluated_at);
CREATE INDEX ix_tick_name_evaluated_at ON tick (name, evaluated_at);
CREATE TABLE run_request (
	id INTEGER NOT NULL,
	request_id VARCHAR NOT NULL,
	tick_id VARCHAR,
	origin VARCHAR NOT NULL,
	"trigger" VARCHAR NOT NULL,
	selection JSON NOT NULL,
	partition VARCHAR,
	run_key VARCHAR,
	status VARCHAR NOT NULL,
	run_id VARCHAR,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_run_request_origin_run_key UNIQUE (origin, run_key),
	UNIQUE (request_id)
);
CREATE INDEX ix_run_request_status_created_at ON run_request (status, created_at);
CREATE INDEX ix_run_request_tick_id ON run_request (tick_id);
CREATE TABLE daemon_lease (
	"key" VARCHAR NOT NULL,
	holder VARCHAR NOT NULL,
	pid INTEGER NOT NULL,
	host VARCHAR NOT NULL,
	started_at DATETIME NOT NULL,
	heartbeat_at DATETIME NOT NULL,
	PRIMARY KEY ("key")
);
CREATE TABLE observed_partitions (
	asset VARCHAR NOT NULL,
	keys TEXT NOT NULL,
	fingerprints TEXT NOT NULL,
	data_versions TEXT NOT NULL,
	PRIMARY KEY (asset)
);
-- postgresql
CREATE TABLE catalog_meta (
	key VARCHAR NOT NULL,
	value VARCHAR NOT NULL,
	PRIMARY KEY (key)
);
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
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (name)
);
CREATE TABLE lineage_edge (
	upstream VARCHAR NOT NULL,
	downstream VARCHAR NOT NULL,
	PRIMARY KEY (upstream, downstream)
);
CREATE INDEX ix_lineage_edge_downstream ON lineage_edge (downstream);
CREATE TABLE column_lineage (
	asset VARCHAR NOT NULL,
	key VARCHAR NOT NULL,
	lineage JSON NOT NULL,
	PRIMARY KEY (asset)
);
CREATE TABLE column_edge (
	asset VARCHAR NOT NULL,
	"column" VARCHAR NOT NULL,
	upstream_asset VARCHAR NOT NULL,
	upstream_column VARCHAR NOT NULL,
	PRIMARY KEY (asset, "column", upstream_asset, upstream_column)
);
CREATE INDEX ix_column_edge_upstream ON column_edge (upstream_asset, upstream_column);
CREATE TABLE run (
	run_id VARCHAR NOT NULL,
	trigger VARCHAR NOT NULL,
	selection JSON NOT NULL,
	status VARCHAR NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	ended_at TIMESTAMP WITH TIME ZONE,
	pid INTEGER,
	heartbeat_at TIMESTAMP WITH TIME ZONE,
	host VARCHAR NOT NULL,
	plan JSON NOT NULL,
	PRIMARY KEY (run_id)
);
CREATE INDEX ix_run_started_at ON run (started_at);
CREATE INDEX ix_run_status ON run (status);
CREATE TABLE materialization (
	id SERIAL NOT NULL,
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
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_materialization_asset ON materialization (asset);
CREATE INDEX ix_materialization_run_id ON materialization (run_id);
CREATE TABLE failure (
	id SERIAL NOT NULL,
	asset VARCHAR NOT NULL,
	run_id VARCHAR NOT NULL,
	partition VARCHAR NOT NULL,
	attempt INTEGER NOT NULL,
	error VARCHAR NOT NULL,
	traceback VARCHAR NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_failure_asset ON failure (asset);
CREATE INDEX ix_failure_run_id ON failure (run_id);
CREATE TABLE observation (
	id SERIAL NOT NULL,
	asset VARCHAR NOT NULL,
	run_id VARCHAR NOT NULL,
	data_version VARCHAR NOT NULL,
	fingerprint VARCHAR NOT NULL,
	partition VARCHAR NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_observation_asset ON observation (asset);
CREATE INDEX ix_observation_run_id ON observation (run_id);
CREATE TABLE event (
	id SERIAL NOT NULL,
	run_id VARCHAR NOT NULL,
	asset VARCHAR,
	kind VARCHAR NOT NULL,
	level VARCHAR NOT NULL,
	message VARCHAR NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_event_asset ON event (asset);
CREATE INDEX ix_event_run_id_kind_asset ON event (run_id, kind, asset);
CREATE TABLE asset_state (
	asset VARCHAR NOT NULL,
	materialization_id INTEGER,
	failure_id INTEGER,
	observation_id INTEGER,
	PRIMARY KEY (asset),
	FOREIGN KEY(materialization_id) REFERENCES materialization (id),
	FOREIGN KEY(failure_id) REFERENCES failure (id),
	FOREIGN KEY(observation_id) REFERENCES observation (id)
);
CREATE TABLE lease (
	asset VARCHAR NOT NULL,
	run_id VARCHAR NOT NULL,
	acquired_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (asset)
);
CREATE INDEX ix_lease_run_id ON lease (run_id);
CREATE TABLE check_result (
	id SERIAL NOT NULL,
	run_id VARCHAR NOT NULL,
	asset VARCHAR NOT NULL,
	"check" VARCHAR NOT NULL,
	passed BOOLEAN NOT NULL,
	blocking BOOLEAN NOT NULL,
	message VARCHAR NOT NULL,
	metadata JSON NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_check_result_asset_id ON check_result (asset, id);
CREATE INDEX ix_check_result_run_id ON check_result (run_id);
CREATE TABLE dynamic_partition (
	name VARCHAR NOT NULL,
	key VARCHAR NOT NULL,
	position INTEGER NOT NULL,
	added_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (name, key)
);
CREATE TABLE backfill (
	backfill_id VARCHAR NOT NULL,
	selection JSON NOT NULL,
	partitions VARCHAR NOT NULL,
	reprocess VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	targets JSON NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	ended_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (backfill_id)
);
CREATE INDEX ix_backfill_status ON backfill (status);
CREATE TABLE automation_state (
	name VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	paused BOOLEAN NOT NULL,
	cursor TEXT,
	last_tick TIMESTAMP WITH TIME ZONE,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (name)
);
CREATE TABLE tick (
	id SERIAL NOT NULL,
	tick_id VARCHAR NOT NULL,
	name VARCHAR NOT NULL,
	kind VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	reason TEXT NOT NULL,
	evaluated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	scheduled_for TIMESTAMP WITH TIME ZONE,
	error TEXT,
	PRIMARY KEY (id),
	UNIQUE (tick_id)
);
CREATE INDEX ix_tick_evaluated_at ON tick (evaluated_at);
CREATE INDEX ix_tick_name_evaluated_at ON tick (name, evaluated_at);
CREATE TABLE run_request (
	id SERIAL NOT NULL,
	request_id VARCHAR NOT NULL,
	tick_id VARCHAR,
	origin VARCHAR NOT NULL,
	trigger VARCHAR NOT NULL,
	selection JSON NOT NULL,
	partition VARCHAR,
	run_key VARCHAR,
	status VARCHAR NOT NULL,
	run_id VARCHAR,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_run_request_origin_run_key UNIQUE (origin, run_key),
	UNIQUE (request_id)
);
CREATE INDEX ix_run_request_status_created_at ON run_request (status, created_at);
CREATE INDEX ix_run_request_tick_id ON run_request (tick_id);
CREATE TABLE daemon_lease (
	key VARCHAR NOT NULL,
	holder VARCHAR NOT NULL,
	pid INTEGER NOT NULL,
	host VARCHAR NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	heartbeat_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (key)
);
CREATE TABLE observed_partitions (
	asset VARCHAR NOT NULL,
	keys TEXT NOT NULL,
	fingerprints TEXT NOT NULL,
	data_versions TEXT NOT NULL,
	PRIMARY KEY (asset)
);
