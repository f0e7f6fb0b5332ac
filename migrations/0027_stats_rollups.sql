CREATE TABLE `stat_counters` (
	`tenant_id` text NOT NULL,
	`bucket_start` integer NOT NULL,
	`metric` text NOT NULL,
	`channel` text NOT NULL,
	`provider` text NOT NULL,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `bucket_start`, `metric`, `channel`, `provider`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `stat_errors` (
	`tenant_id` text NOT NULL,
	`bucket_start` integer NOT NULL,
	`channel` text NOT NULL,
	`provider` text NOT NULL,
	`country` text NOT NULL,
	`status` text NOT NULL,
	`reason` text NOT NULL,
	`mode` text NOT NULL,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `bucket_start`, `channel`, `provider`, `country`, `status`, `reason`, `mode`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `stat_latencies` (
	`tenant_id` text NOT NULL,
	`grain` integer NOT NULL,
	`bucket_start` integer NOT NULL,
	`metric` text NOT NULL,
	`channel` text NOT NULL,
	`provider` text NOT NULL,
	`country` text NOT NULL,
	`mode` text NOT NULL,
	`le` integer NOT NULL,
	`n` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `grain`, `bucket_start`, `metric`, `channel`, `provider`, `country`, `mode`, `le`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `stat_rollups` (
	`tenant_id` text NOT NULL,
	`grain` integer NOT NULL,
	`bucket_start` integer NOT NULL,
	`channel` text NOT NULL,
	`provider` text NOT NULL,
	`template_id` text NOT NULL,
	`country` text NOT NULL,
	`status` text NOT NULL,
	`currency` text NOT NULL,
	`mode` text NOT NULL,
	`messages` integer DEFAULT 0 NOT NULL,
	`segments` integer DEFAULT 0 NOT NULL,
	`cost_micros` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `grain`, `bucket_start`, `channel`, `provider`, `template_id`, `country`, `status`, `currency`, `mode`)
) WITHOUT ROWID;
--> statement-breakpoint
/*
 * Statistics (issue 17), hand-written below the generated tables (and their `WITHOUT ROWID`,
 * which drizzle cannot express: each table is then one B-tree in primary-key order, so an upsert
 * writes one tree instead of a table and its key index, and a range read of (tenant, grain,
 * bucket) reads the rows themselves, in order, with no look-up per row).
 *
 * The rollups are kept by triggers on the rows they count, not by extra statements the writers
 * add. Why this is exact: a trigger fires inside the very statement that changes the row, once per
 * row it actually changes. The status writer guards each move (UPDATE … WHERE status IN (…)); a
 * duplicate or out-of-order receipt, a queue redelivery or a replay after a crash matches no row,
 * so no trigger fires and nothing is counted; the dispatcher's INSERT OR IGNORE of a message it
 * already logged inserts nothing, likewise. An explicit statement guarded by the same predicate
 * would have to repeat every writer's guard (and a D1 batch cannot read an earlier statement's
 * changes()), and one writer forgetting it would count twice. Why it is fast: no extra statement,
 * round trip or bound parameter per batch; one primary-key upsert per changed row, inside the
 * same write transaction as the change.
 *
 * stat_rollups holds, per key, the messages that are in that status now: a move subtracts the old
 * key and adds the new one (also when the SMS fallback changes channel, provider, country or cost
 * without a move), so the rollups always equal a direct count of the send log. Deleting messages
 * (retention) changes nothing here: there is no DELETE trigger, the rollups are kept.
 * stat_rollups and stat_latencies are kept at three grains (0: 15 minutes, 1: UTC hour, 2: UTC
 * day), each change added at all three: a 30-day read takes whole days and hours and only the
 * edges of its periods at 15 minutes (a day in +5:30 starts half-way through a UTC hour).
 * Latency buckets: domain/stats.ts LATENCY_BOUNDS_MS (test/services/stats checks they agree).
 */

CREATE TRIGGER stat_rollups_insert AFTER INSERT ON messages BEGIN
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (NEW.tenant_id, 0, (NEW.created_at / 900000) * 900000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), NEW.status, COALESCE(NEW.currency, ''), NEW.mode, +1, +NEW.segments, +NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (NEW.tenant_id, 1, (NEW.created_at / 3600000) * 3600000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), NEW.status, COALESCE(NEW.currency, ''), NEW.mode, +1, +NEW.segments, +NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (NEW.tenant_id, 2, (NEW.created_at / 86400000) * 86400000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), NEW.status, COALESCE(NEW.currency, ''), NEW.mode, +1, +NEW.segments, +NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
END;
--> statement-breakpoint
CREATE TRIGGER stat_rollups_update AFTER UPDATE OF status, channel, provider, template_id, country, segments, cost_micros, currency ON messages
WHEN OLD.status IS NOT NEW.status OR OLD.channel IS NOT NEW.channel OR OLD.provider IS NOT NEW.provider OR OLD.template_id IS NOT NEW.template_id OR OLD.country IS NOT NEW.country OR OLD.segments IS NOT NEW.segments OR OLD.cost_micros IS NOT NEW.cost_micros OR OLD.currency IS NOT NEW.currency BEGIN
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (OLD.tenant_id, 0, (OLD.created_at / 900000) * 900000, OLD.channel, COALESCE(OLD.provider, ''), COALESCE(OLD.template_id, ''), COALESCE(OLD.country, ''), OLD.status, COALESCE(OLD.currency, ''), OLD.mode, -1, -OLD.segments, -OLD.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (OLD.tenant_id, 1, (OLD.created_at / 3600000) * 3600000, OLD.channel, COALESCE(OLD.provider, ''), COALESCE(OLD.template_id, ''), COALESCE(OLD.country, ''), OLD.status, COALESCE(OLD.currency, ''), OLD.mode, -1, -OLD.segments, -OLD.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (OLD.tenant_id, 2, (OLD.created_at / 86400000) * 86400000, OLD.channel, COALESCE(OLD.provider, ''), COALESCE(OLD.template_id, ''), COALESCE(OLD.country, ''), OLD.status, COALESCE(OLD.currency, ''), OLD.mode, -1, -OLD.segments, -OLD.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (NEW.tenant_id, 0, (NEW.created_at / 900000) * 900000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), NEW.status, COALESCE(NEW.currency, ''), NEW.mode, +1, +NEW.segments, +NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (NEW.tenant_id, 1, (NEW.created_at / 3600000) * 3600000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), NEW.status, COALESCE(NEW.currency, ''), NEW.mode, +1, +NEW.segments, +NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
  VALUES (NEW.tenant_id, 2, (NEW.created_at / 86400000) * 86400000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), NEW.status, COALESCE(NEW.currency, ''), NEW.mode, +1, +NEW.segments, +NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode) DO UPDATE SET
    messages = messages + excluded.messages, segments = segments + excluded.segments,
    cost_micros = cost_micros + excluded.cost_micros;
END;
--> statement-breakpoint
CREATE TRIGGER stat_latency_sent AFTER UPDATE OF sent_at ON messages
WHEN OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL BEGIN
  INSERT INTO stat_latencies (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le, n)
  VALUES (NEW.tenant_id, 0, (NEW.created_at / 900000) * 900000, 'sent', NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.mode,
    CASE WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 250 THEN 0 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 500 THEN 1 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 1000 THEN 2 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 2000 THEN 3 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 5000 THEN 4 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 10000 THEN 5 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 20000 THEN 6 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 30000 THEN 7 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 60000 THEN 8 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 120000 THEN 9 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 300000 THEN 10 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 600000 THEN 11 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 1800000 THEN 12 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 3600000 THEN 13 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 21600000 THEN 14 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 86400000 THEN 15 ELSE 16 END, 1)
  ON CONFLICT (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le) DO UPDATE SET n = n + 1;
  INSERT INTO stat_latencies (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le, n)
  VALUES (NEW.tenant_id, 1, (NEW.created_at / 3600000) * 3600000, 'sent', NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.mode,
    CASE WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 250 THEN 0 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 500 THEN 1 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 1000 THEN 2 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 2000 THEN 3 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 5000 THEN 4 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 10000 THEN 5 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 20000 THEN 6 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 30000 THEN 7 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 60000 THEN 8 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 120000 THEN 9 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 300000 THEN 10 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 600000 THEN 11 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 1800000 THEN 12 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 3600000 THEN 13 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 21600000 THEN 14 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 86400000 THEN 15 ELSE 16 END, 1)
  ON CONFLICT (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le) DO UPDATE SET n = n + 1;
  INSERT INTO stat_latencies (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le, n)
  VALUES (NEW.tenant_id, 2, (NEW.created_at / 86400000) * 86400000, 'sent', NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.mode,
    CASE WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 250 THEN 0 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 500 THEN 1 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 1000 THEN 2 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 2000 THEN 3 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 5000 THEN 4 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 10000 THEN 5 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 20000 THEN 6 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 30000 THEN 7 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 60000 THEN 8 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 120000 THEN 9 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 300000 THEN 10 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 600000 THEN 11 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 1800000 THEN 12 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 3600000 THEN 13 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 21600000 THEN 14 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 86400000 THEN 15 ELSE 16 END, 1)
  ON CONFLICT (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le) DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER stat_latency_delivered AFTER UPDATE OF status ON messages
WHEN NEW.status = 'delivered' AND OLD.status IS NOT 'delivered' BEGIN
  INSERT INTO stat_latencies (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le, n)
  VALUES (NEW.tenant_id, 0, (NEW.created_at / 900000) * 900000, 'delivered', NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.mode,
    CASE WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 250 THEN 0 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 500 THEN 1 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 1000 THEN 2 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 2000 THEN 3 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 5000 THEN 4 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 10000 THEN 5 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 20000 THEN 6 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 30000 THEN 7 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 60000 THEN 8 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 120000 THEN 9 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 300000 THEN 10 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 600000 THEN 11 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 1800000 THEN 12 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 3600000 THEN 13 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 21600000 THEN 14 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 86400000 THEN 15 ELSE 16 END, 1)
  ON CONFLICT (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le) DO UPDATE SET n = n + 1;
  INSERT INTO stat_latencies (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le, n)
  VALUES (NEW.tenant_id, 1, (NEW.created_at / 3600000) * 3600000, 'delivered', NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.mode,
    CASE WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 250 THEN 0 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 500 THEN 1 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 1000 THEN 2 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 2000 THEN 3 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 5000 THEN 4 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 10000 THEN 5 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 20000 THEN 6 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 30000 THEN 7 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 60000 THEN 8 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 120000 THEN 9 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 300000 THEN 10 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 600000 THEN 11 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 1800000 THEN 12 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 3600000 THEN 13 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 21600000 THEN 14 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 86400000 THEN 15 ELSE 16 END, 1)
  ON CONFLICT (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le) DO UPDATE SET n = n + 1;
  INSERT INTO stat_latencies (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le, n)
  VALUES (NEW.tenant_id, 2, (NEW.created_at / 86400000) * 86400000, 'delivered', NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.mode,
    CASE WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 250 THEN 0 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 500 THEN 1 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 1000 THEN 2 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 2000 THEN 3 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 5000 THEN 4 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 10000 THEN 5 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 20000 THEN 6 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 30000 THEN 7 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 60000 THEN 8 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 120000 THEN 9 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 300000 THEN 10 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 600000 THEN 11 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 1800000 THEN 12 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 3600000 THEN 13 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 21600000 THEN 14 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 86400000 THEN 15 ELSE 16 END, 1)
  ON CONFLICT (tenant_id, grain, bucket_start, metric, channel, provider, country, mode, le) DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER stat_errors_final AFTER UPDATE OF status ON messages
WHEN NEW.status IN ('failed', 'undelivered', 'expired') AND OLD.status IS NOT NEW.status BEGIN
  INSERT INTO stat_errors (tenant_id, bucket_start, channel, provider, country, status, reason, mode, n)
  VALUES (NEW.tenant_id, (NEW.created_at / 900000) * 900000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.status, substr(COALESCE(NEW.status_reason, ''), 1, 200), NEW.mode, 1)
  ON CONFLICT (tenant_id, bucket_start, channel, provider, country, status, reason, mode) DO UPDATE SET n = n + 1;
END;
--> statement-breakpoint
CREATE TRIGGER stat_inbound AFTER INSERT ON inbound_messages BEGIN
  INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
  VALUES (NEW.tenant_id, (NEW.received_at / 900000) * 900000, 'inbound', NEW.channel, NEW.provider, 1)
  ON CONFLICT (tenant_id, bucket_start, metric, channel, provider) DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER stat_opt_out AFTER INSERT ON opt_outs BEGIN
  INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
  VALUES (NEW.tenant_id, (NEW.created_at / 900000) * 900000, 'opt_out', 'sms', '', 1)
  ON CONFLICT (tenant_id, bucket_start, metric, channel, provider) DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER stat_verification_sent AFTER INSERT ON verifications WHEN NEW.send_count > 0 BEGIN
  INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
  VALUES (NEW.tenant_id, (NEW.created_at / 900000) * 900000, 'verification_sent', NEW.channel, '', NEW.send_count)
  ON CONFLICT (tenant_id, bucket_start, metric, channel, provider) DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER stat_verification_resent AFTER UPDATE OF send_count ON verifications
WHEN NEW.send_count > OLD.send_count BEGIN
  INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
  VALUES (NEW.tenant_id, (NEW.updated_at / 900000) * 900000, 'verification_sent', NEW.channel, '', NEW.send_count - OLD.send_count)
  ON CONFLICT (tenant_id, bucket_start, metric, channel, provider) DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER stat_verification_checked AFTER UPDATE OF attempts ON verifications
WHEN NEW.attempts > OLD.attempts BEGIN
  INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
  VALUES (NEW.tenant_id, (NEW.updated_at / 900000) * 900000, 'verification_check', NEW.channel, '', NEW.attempts - OLD.attempts)
  ON CONFLICT (tenant_id, bucket_start, metric, channel, provider) DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
CREATE TRIGGER stat_verification_approved AFTER UPDATE OF status ON verifications
WHEN NEW.status = 'approved' AND OLD.status IS NOT 'approved' BEGIN
  INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
  VALUES (NEW.tenant_id, (NEW.updated_at / 900000) * 900000, 'verification_check', NEW.channel, '', 1)
  ON CONFLICT (tenant_id, bucket_start, metric, channel, provider) DO UPDATE SET n = n + excluded.n;
  INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
  VALUES (NEW.tenant_id, (NEW.updated_at / 900000) * 900000, 'verification_approved', NEW.channel, '', 1)
  ON CONFLICT (tenant_id, bucket_start, metric, channel, provider) DO UPDATE SET n = n + excluded.n;
END;
--> statement-breakpoint
-- What was logged before the rollups existed, counted once here.
INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
SELECT tenant_id, 0, (created_at / 900000) * 900000, channel, COALESCE(provider, ''), COALESCE(template_id, ''), COALESCE(country, ''), status, COALESCE(currency, ''), mode, COUNT(*), SUM(segments), SUM(cost_micros)
FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
--> statement-breakpoint
INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
SELECT tenant_id, 1, (created_at / 3600000) * 3600000, channel, COALESCE(provider, ''), COALESCE(template_id, ''), COALESCE(country, ''), status, COALESCE(currency, ''), mode, COUNT(*), SUM(segments), SUM(cost_micros)
FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
--> statement-breakpoint
INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, status, currency, mode, messages, segments, cost_micros)
SELECT tenant_id, 2, (created_at / 86400000) * 86400000, channel, COALESCE(provider, ''), COALESCE(template_id, ''), COALESCE(country, ''), status, COALESCE(currency, ''), mode, COUNT(*), SUM(segments), SUM(cost_micros)
FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
--> statement-breakpoint
INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
SELECT tenant_id, (received_at / 900000) * 900000, 'inbound', channel, provider, COUNT(*) FROM inbound_messages GROUP BY 1, 2, 4, 5;
