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
	`currency` text NOT NULL,
	`mode` text NOT NULL,
	`scheduled` integer DEFAULT 0 NOT NULL,
	`scheduled_segments` integer DEFAULT 0 NOT NULL,
	`scheduled_cost_micros` integer DEFAULT 0 NOT NULL,
	`queued` integer DEFAULT 0 NOT NULL,
	`queued_segments` integer DEFAULT 0 NOT NULL,
	`queued_cost_micros` integer DEFAULT 0 NOT NULL,
	`sending` integer DEFAULT 0 NOT NULL,
	`sending_segments` integer DEFAULT 0 NOT NULL,
	`sending_cost_micros` integer DEFAULT 0 NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`sent_segments` integer DEFAULT 0 NOT NULL,
	`sent_cost_micros` integer DEFAULT 0 NOT NULL,
	`delivered` integer DEFAULT 0 NOT NULL,
	`delivered_segments` integer DEFAULT 0 NOT NULL,
	`delivered_cost_micros` integer DEFAULT 0 NOT NULL,
	`undelivered` integer DEFAULT 0 NOT NULL,
	`undelivered_segments` integer DEFAULT 0 NOT NULL,
	`undelivered_cost_micros` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`failed_segments` integer DEFAULT 0 NOT NULL,
	`failed_cost_micros` integer DEFAULT 0 NOT NULL,
	`canceled` integer DEFAULT 0 NOT NULL,
	`canceled_segments` integer DEFAULT 0 NOT NULL,
	`canceled_cost_micros` integer DEFAULT 0 NOT NULL,
	`expired` integer DEFAULT 0 NOT NULL,
	`expired_segments` integer DEFAULT 0 NOT NULL,
	`expired_cost_micros` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `grain`, `bucket_start`, `channel`, `provider`, `template_id`, `country`, `currency`, `mode`)
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
 * stat_rollups holds, per key (without the status), the messages in each status now, one column
 * per status (with their segments and cost), so the rollups always equal a direct count of the
 * send log. A status change (or a new segment count or cost) is one UPDATE of one row per grain
 * (stat_rollups_move: old status − 1, new status + 1); only when the key itself changes (the
 * provider recorded at send, the SMS fallback changing channel, provider, country or cost) does
 * stat_rollups_rekey subtract from the old row and add to the new one. The WHEN clauses let a
 * statement that rewrites a column with the same value fire nothing. Deleting messages
 * (retention) changes nothing here: there is no DELETE trigger, the rollups are kept.
 * stat_rollups and stat_latencies are kept at three grains (0: 15 minutes, 1: UTC hour, 2: UTC
 * day), each change added at all three: a 30-day read takes whole days and hours and only the
 * edges of its periods at 15 minutes (a day in +5:30 starts half-way through a UTC hour; a day
 * in +8 holds no whole UTC day, so without hours it would read every 15-minute bucket).
 * Latency buckets: domain/stats.ts LATENCY_BOUNDS_MS (test/services/stats checks they agree).
 */

CREATE TRIGGER stat_rollups_insert AFTER INSERT ON messages BEGIN
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
  VALUES (NEW.tenant_id, 0, (NEW.created_at / 900000) * 900000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), COALESCE(NEW.currency, ''), NEW.mode,
    (NEW.status = 'scheduled'), (NEW.status = 'scheduled') * NEW.segments, (NEW.status = 'scheduled') * NEW.cost_micros, (NEW.status = 'queued'), (NEW.status = 'queued') * NEW.segments, (NEW.status = 'queued') * NEW.cost_micros, (NEW.status = 'sending'), (NEW.status = 'sending') * NEW.segments, (NEW.status = 'sending') * NEW.cost_micros, (NEW.status = 'sent'), (NEW.status = 'sent') * NEW.segments, (NEW.status = 'sent') * NEW.cost_micros, (NEW.status = 'delivered'), (NEW.status = 'delivered') * NEW.segments, (NEW.status = 'delivered') * NEW.cost_micros, (NEW.status = 'undelivered'), (NEW.status = 'undelivered') * NEW.segments, (NEW.status = 'undelivered') * NEW.cost_micros, (NEW.status = 'failed'), (NEW.status = 'failed') * NEW.segments, (NEW.status = 'failed') * NEW.cost_micros, (NEW.status = 'canceled'), (NEW.status = 'canceled') * NEW.segments, (NEW.status = 'canceled') * NEW.cost_micros, (NEW.status = 'expired'), (NEW.status = 'expired') * NEW.segments, (NEW.status = 'expired') * NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode) DO UPDATE SET
    scheduled = scheduled + excluded.scheduled, scheduled_segments = scheduled_segments + excluded.scheduled_segments, scheduled_cost_micros = scheduled_cost_micros + excluded.scheduled_cost_micros,
    queued = queued + excluded.queued, queued_segments = queued_segments + excluded.queued_segments, queued_cost_micros = queued_cost_micros + excluded.queued_cost_micros,
    sending = sending + excluded.sending, sending_segments = sending_segments + excluded.sending_segments, sending_cost_micros = sending_cost_micros + excluded.sending_cost_micros,
    sent = sent + excluded.sent, sent_segments = sent_segments + excluded.sent_segments, sent_cost_micros = sent_cost_micros + excluded.sent_cost_micros,
    delivered = delivered + excluded.delivered, delivered_segments = delivered_segments + excluded.delivered_segments, delivered_cost_micros = delivered_cost_micros + excluded.delivered_cost_micros,
    undelivered = undelivered + excluded.undelivered, undelivered_segments = undelivered_segments + excluded.undelivered_segments, undelivered_cost_micros = undelivered_cost_micros + excluded.undelivered_cost_micros,
    failed = failed + excluded.failed, failed_segments = failed_segments + excluded.failed_segments, failed_cost_micros = failed_cost_micros + excluded.failed_cost_micros,
    canceled = canceled + excluded.canceled, canceled_segments = canceled_segments + excluded.canceled_segments, canceled_cost_micros = canceled_cost_micros + excluded.canceled_cost_micros,
    expired = expired + excluded.expired, expired_segments = expired_segments + excluded.expired_segments, expired_cost_micros = expired_cost_micros + excluded.expired_cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
  VALUES (NEW.tenant_id, 1, (NEW.created_at / 3600000) * 3600000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), COALESCE(NEW.currency, ''), NEW.mode,
    (NEW.status = 'scheduled'), (NEW.status = 'scheduled') * NEW.segments, (NEW.status = 'scheduled') * NEW.cost_micros, (NEW.status = 'queued'), (NEW.status = 'queued') * NEW.segments, (NEW.status = 'queued') * NEW.cost_micros, (NEW.status = 'sending'), (NEW.status = 'sending') * NEW.segments, (NEW.status = 'sending') * NEW.cost_micros, (NEW.status = 'sent'), (NEW.status = 'sent') * NEW.segments, (NEW.status = 'sent') * NEW.cost_micros, (NEW.status = 'delivered'), (NEW.status = 'delivered') * NEW.segments, (NEW.status = 'delivered') * NEW.cost_micros, (NEW.status = 'undelivered'), (NEW.status = 'undelivered') * NEW.segments, (NEW.status = 'undelivered') * NEW.cost_micros, (NEW.status = 'failed'), (NEW.status = 'failed') * NEW.segments, (NEW.status = 'failed') * NEW.cost_micros, (NEW.status = 'canceled'), (NEW.status = 'canceled') * NEW.segments, (NEW.status = 'canceled') * NEW.cost_micros, (NEW.status = 'expired'), (NEW.status = 'expired') * NEW.segments, (NEW.status = 'expired') * NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode) DO UPDATE SET
    scheduled = scheduled + excluded.scheduled, scheduled_segments = scheduled_segments + excluded.scheduled_segments, scheduled_cost_micros = scheduled_cost_micros + excluded.scheduled_cost_micros,
    queued = queued + excluded.queued, queued_segments = queued_segments + excluded.queued_segments, queued_cost_micros = queued_cost_micros + excluded.queued_cost_micros,
    sending = sending + excluded.sending, sending_segments = sending_segments + excluded.sending_segments, sending_cost_micros = sending_cost_micros + excluded.sending_cost_micros,
    sent = sent + excluded.sent, sent_segments = sent_segments + excluded.sent_segments, sent_cost_micros = sent_cost_micros + excluded.sent_cost_micros,
    delivered = delivered + excluded.delivered, delivered_segments = delivered_segments + excluded.delivered_segments, delivered_cost_micros = delivered_cost_micros + excluded.delivered_cost_micros,
    undelivered = undelivered + excluded.undelivered, undelivered_segments = undelivered_segments + excluded.undelivered_segments, undelivered_cost_micros = undelivered_cost_micros + excluded.undelivered_cost_micros,
    failed = failed + excluded.failed, failed_segments = failed_segments + excluded.failed_segments, failed_cost_micros = failed_cost_micros + excluded.failed_cost_micros,
    canceled = canceled + excluded.canceled, canceled_segments = canceled_segments + excluded.canceled_segments, canceled_cost_micros = canceled_cost_micros + excluded.canceled_cost_micros,
    expired = expired + excluded.expired, expired_segments = expired_segments + excluded.expired_segments, expired_cost_micros = expired_cost_micros + excluded.expired_cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
  VALUES (NEW.tenant_id, 2, (NEW.created_at / 86400000) * 86400000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), COALESCE(NEW.currency, ''), NEW.mode,
    (NEW.status = 'scheduled'), (NEW.status = 'scheduled') * NEW.segments, (NEW.status = 'scheduled') * NEW.cost_micros, (NEW.status = 'queued'), (NEW.status = 'queued') * NEW.segments, (NEW.status = 'queued') * NEW.cost_micros, (NEW.status = 'sending'), (NEW.status = 'sending') * NEW.segments, (NEW.status = 'sending') * NEW.cost_micros, (NEW.status = 'sent'), (NEW.status = 'sent') * NEW.segments, (NEW.status = 'sent') * NEW.cost_micros, (NEW.status = 'delivered'), (NEW.status = 'delivered') * NEW.segments, (NEW.status = 'delivered') * NEW.cost_micros, (NEW.status = 'undelivered'), (NEW.status = 'undelivered') * NEW.segments, (NEW.status = 'undelivered') * NEW.cost_micros, (NEW.status = 'failed'), (NEW.status = 'failed') * NEW.segments, (NEW.status = 'failed') * NEW.cost_micros, (NEW.status = 'canceled'), (NEW.status = 'canceled') * NEW.segments, (NEW.status = 'canceled') * NEW.cost_micros, (NEW.status = 'expired'), (NEW.status = 'expired') * NEW.segments, (NEW.status = 'expired') * NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode) DO UPDATE SET
    scheduled = scheduled + excluded.scheduled, scheduled_segments = scheduled_segments + excluded.scheduled_segments, scheduled_cost_micros = scheduled_cost_micros + excluded.scheduled_cost_micros,
    queued = queued + excluded.queued, queued_segments = queued_segments + excluded.queued_segments, queued_cost_micros = queued_cost_micros + excluded.queued_cost_micros,
    sending = sending + excluded.sending, sending_segments = sending_segments + excluded.sending_segments, sending_cost_micros = sending_cost_micros + excluded.sending_cost_micros,
    sent = sent + excluded.sent, sent_segments = sent_segments + excluded.sent_segments, sent_cost_micros = sent_cost_micros + excluded.sent_cost_micros,
    delivered = delivered + excluded.delivered, delivered_segments = delivered_segments + excluded.delivered_segments, delivered_cost_micros = delivered_cost_micros + excluded.delivered_cost_micros,
    undelivered = undelivered + excluded.undelivered, undelivered_segments = undelivered_segments + excluded.undelivered_segments, undelivered_cost_micros = undelivered_cost_micros + excluded.undelivered_cost_micros,
    failed = failed + excluded.failed, failed_segments = failed_segments + excluded.failed_segments, failed_cost_micros = failed_cost_micros + excluded.failed_cost_micros,
    canceled = canceled + excluded.canceled, canceled_segments = canceled_segments + excluded.canceled_segments, canceled_cost_micros = canceled_cost_micros + excluded.canceled_cost_micros,
    expired = expired + excluded.expired, expired_segments = expired_segments + excluded.expired_segments, expired_cost_micros = expired_cost_micros + excluded.expired_cost_micros;
END;
--> statement-breakpoint
CREATE TRIGGER stat_rollups_move AFTER UPDATE OF status, segments, cost_micros ON messages
WHEN (OLD.status IS NOT NEW.status OR OLD.segments IS NOT NEW.segments OR OLD.cost_micros IS NOT NEW.cost_micros)
  AND OLD.tenant_id IS NEW.tenant_id AND OLD.created_at IS NEW.created_at AND OLD.mode IS NEW.mode AND OLD.channel IS NEW.channel AND OLD.provider IS NEW.provider AND OLD.template_id IS NEW.template_id AND OLD.country IS NEW.country AND OLD.currency IS NEW.currency BEGIN
  UPDATE stat_rollups SET
    scheduled = scheduled + (NEW.status = 'scheduled') - (OLD.status = 'scheduled'), scheduled_segments = scheduled_segments + (NEW.status = 'scheduled') * NEW.segments - (OLD.status = 'scheduled') * OLD.segments, scheduled_cost_micros = scheduled_cost_micros + (NEW.status = 'scheduled') * NEW.cost_micros - (OLD.status = 'scheduled') * OLD.cost_micros,
    queued = queued + (NEW.status = 'queued') - (OLD.status = 'queued'), queued_segments = queued_segments + (NEW.status = 'queued') * NEW.segments - (OLD.status = 'queued') * OLD.segments, queued_cost_micros = queued_cost_micros + (NEW.status = 'queued') * NEW.cost_micros - (OLD.status = 'queued') * OLD.cost_micros,
    sending = sending + (NEW.status = 'sending') - (OLD.status = 'sending'), sending_segments = sending_segments + (NEW.status = 'sending') * NEW.segments - (OLD.status = 'sending') * OLD.segments, sending_cost_micros = sending_cost_micros + (NEW.status = 'sending') * NEW.cost_micros - (OLD.status = 'sending') * OLD.cost_micros,
    sent = sent + (NEW.status = 'sent') - (OLD.status = 'sent'), sent_segments = sent_segments + (NEW.status = 'sent') * NEW.segments - (OLD.status = 'sent') * OLD.segments, sent_cost_micros = sent_cost_micros + (NEW.status = 'sent') * NEW.cost_micros - (OLD.status = 'sent') * OLD.cost_micros,
    delivered = delivered + (NEW.status = 'delivered') - (OLD.status = 'delivered'), delivered_segments = delivered_segments + (NEW.status = 'delivered') * NEW.segments - (OLD.status = 'delivered') * OLD.segments, delivered_cost_micros = delivered_cost_micros + (NEW.status = 'delivered') * NEW.cost_micros - (OLD.status = 'delivered') * OLD.cost_micros,
    undelivered = undelivered + (NEW.status = 'undelivered') - (OLD.status = 'undelivered'), undelivered_segments = undelivered_segments + (NEW.status = 'undelivered') * NEW.segments - (OLD.status = 'undelivered') * OLD.segments, undelivered_cost_micros = undelivered_cost_micros + (NEW.status = 'undelivered') * NEW.cost_micros - (OLD.status = 'undelivered') * OLD.cost_micros,
    failed = failed + (NEW.status = 'failed') - (OLD.status = 'failed'), failed_segments = failed_segments + (NEW.status = 'failed') * NEW.segments - (OLD.status = 'failed') * OLD.segments, failed_cost_micros = failed_cost_micros + (NEW.status = 'failed') * NEW.cost_micros - (OLD.status = 'failed') * OLD.cost_micros,
    canceled = canceled + (NEW.status = 'canceled') - (OLD.status = 'canceled'), canceled_segments = canceled_segments + (NEW.status = 'canceled') * NEW.segments - (OLD.status = 'canceled') * OLD.segments, canceled_cost_micros = canceled_cost_micros + (NEW.status = 'canceled') * NEW.cost_micros - (OLD.status = 'canceled') * OLD.cost_micros,
    expired = expired + (NEW.status = 'expired') - (OLD.status = 'expired'), expired_segments = expired_segments + (NEW.status = 'expired') * NEW.segments - (OLD.status = 'expired') * OLD.segments, expired_cost_micros = expired_cost_micros + (NEW.status = 'expired') * NEW.cost_micros - (OLD.status = 'expired') * OLD.cost_micros
  WHERE tenant_id = NEW.tenant_id AND grain = 0 AND bucket_start = (NEW.created_at / 900000) * 900000 AND channel = NEW.channel
    AND provider = COALESCE(NEW.provider, '') AND template_id = COALESCE(NEW.template_id, '') AND country = COALESCE(NEW.country, '')
    AND currency = COALESCE(NEW.currency, '') AND mode = NEW.mode;
  UPDATE stat_rollups SET
    scheduled = scheduled + (NEW.status = 'scheduled') - (OLD.status = 'scheduled'), scheduled_segments = scheduled_segments + (NEW.status = 'scheduled') * NEW.segments - (OLD.status = 'scheduled') * OLD.segments, scheduled_cost_micros = scheduled_cost_micros + (NEW.status = 'scheduled') * NEW.cost_micros - (OLD.status = 'scheduled') * OLD.cost_micros,
    queued = queued + (NEW.status = 'queued') - (OLD.status = 'queued'), queued_segments = queued_segments + (NEW.status = 'queued') * NEW.segments - (OLD.status = 'queued') * OLD.segments, queued_cost_micros = queued_cost_micros + (NEW.status = 'queued') * NEW.cost_micros - (OLD.status = 'queued') * OLD.cost_micros,
    sending = sending + (NEW.status = 'sending') - (OLD.status = 'sending'), sending_segments = sending_segments + (NEW.status = 'sending') * NEW.segments - (OLD.status = 'sending') * OLD.segments, sending_cost_micros = sending_cost_micros + (NEW.status = 'sending') * NEW.cost_micros - (OLD.status = 'sending') * OLD.cost_micros,
    sent = sent + (NEW.status = 'sent') - (OLD.status = 'sent'), sent_segments = sent_segments + (NEW.status = 'sent') * NEW.segments - (OLD.status = 'sent') * OLD.segments, sent_cost_micros = sent_cost_micros + (NEW.status = 'sent') * NEW.cost_micros - (OLD.status = 'sent') * OLD.cost_micros,
    delivered = delivered + (NEW.status = 'delivered') - (OLD.status = 'delivered'), delivered_segments = delivered_segments + (NEW.status = 'delivered') * NEW.segments - (OLD.status = 'delivered') * OLD.segments, delivered_cost_micros = delivered_cost_micros + (NEW.status = 'delivered') * NEW.cost_micros - (OLD.status = 'delivered') * OLD.cost_micros,
    undelivered = undelivered + (NEW.status = 'undelivered') - (OLD.status = 'undelivered'), undelivered_segments = undelivered_segments + (NEW.status = 'undelivered') * NEW.segments - (OLD.status = 'undelivered') * OLD.segments, undelivered_cost_micros = undelivered_cost_micros + (NEW.status = 'undelivered') * NEW.cost_micros - (OLD.status = 'undelivered') * OLD.cost_micros,
    failed = failed + (NEW.status = 'failed') - (OLD.status = 'failed'), failed_segments = failed_segments + (NEW.status = 'failed') * NEW.segments - (OLD.status = 'failed') * OLD.segments, failed_cost_micros = failed_cost_micros + (NEW.status = 'failed') * NEW.cost_micros - (OLD.status = 'failed') * OLD.cost_micros,
    canceled = canceled + (NEW.status = 'canceled') - (OLD.status = 'canceled'), canceled_segments = canceled_segments + (NEW.status = 'canceled') * NEW.segments - (OLD.status = 'canceled') * OLD.segments, canceled_cost_micros = canceled_cost_micros + (NEW.status = 'canceled') * NEW.cost_micros - (OLD.status = 'canceled') * OLD.cost_micros,
    expired = expired + (NEW.status = 'expired') - (OLD.status = 'expired'), expired_segments = expired_segments + (NEW.status = 'expired') * NEW.segments - (OLD.status = 'expired') * OLD.segments, expired_cost_micros = expired_cost_micros + (NEW.status = 'expired') * NEW.cost_micros - (OLD.status = 'expired') * OLD.cost_micros
  WHERE tenant_id = NEW.tenant_id AND grain = 1 AND bucket_start = (NEW.created_at / 3600000) * 3600000 AND channel = NEW.channel
    AND provider = COALESCE(NEW.provider, '') AND template_id = COALESCE(NEW.template_id, '') AND country = COALESCE(NEW.country, '')
    AND currency = COALESCE(NEW.currency, '') AND mode = NEW.mode;
  UPDATE stat_rollups SET
    scheduled = scheduled + (NEW.status = 'scheduled') - (OLD.status = 'scheduled'), scheduled_segments = scheduled_segments + (NEW.status = 'scheduled') * NEW.segments - (OLD.status = 'scheduled') * OLD.segments, scheduled_cost_micros = scheduled_cost_micros + (NEW.status = 'scheduled') * NEW.cost_micros - (OLD.status = 'scheduled') * OLD.cost_micros,
    queued = queued + (NEW.status = 'queued') - (OLD.status = 'queued'), queued_segments = queued_segments + (NEW.status = 'queued') * NEW.segments - (OLD.status = 'queued') * OLD.segments, queued_cost_micros = queued_cost_micros + (NEW.status = 'queued') * NEW.cost_micros - (OLD.status = 'queued') * OLD.cost_micros,
    sending = sending + (NEW.status = 'sending') - (OLD.status = 'sending'), sending_segments = sending_segments + (NEW.status = 'sending') * NEW.segments - (OLD.status = 'sending') * OLD.segments, sending_cost_micros = sending_cost_micros + (NEW.status = 'sending') * NEW.cost_micros - (OLD.status = 'sending') * OLD.cost_micros,
    sent = sent + (NEW.status = 'sent') - (OLD.status = 'sent'), sent_segments = sent_segments + (NEW.status = 'sent') * NEW.segments - (OLD.status = 'sent') * OLD.segments, sent_cost_micros = sent_cost_micros + (NEW.status = 'sent') * NEW.cost_micros - (OLD.status = 'sent') * OLD.cost_micros,
    delivered = delivered + (NEW.status = 'delivered') - (OLD.status = 'delivered'), delivered_segments = delivered_segments + (NEW.status = 'delivered') * NEW.segments - (OLD.status = 'delivered') * OLD.segments, delivered_cost_micros = delivered_cost_micros + (NEW.status = 'delivered') * NEW.cost_micros - (OLD.status = 'delivered') * OLD.cost_micros,
    undelivered = undelivered + (NEW.status = 'undelivered') - (OLD.status = 'undelivered'), undelivered_segments = undelivered_segments + (NEW.status = 'undelivered') * NEW.segments - (OLD.status = 'undelivered') * OLD.segments, undelivered_cost_micros = undelivered_cost_micros + (NEW.status = 'undelivered') * NEW.cost_micros - (OLD.status = 'undelivered') * OLD.cost_micros,
    failed = failed + (NEW.status = 'failed') - (OLD.status = 'failed'), failed_segments = failed_segments + (NEW.status = 'failed') * NEW.segments - (OLD.status = 'failed') * OLD.segments, failed_cost_micros = failed_cost_micros + (NEW.status = 'failed') * NEW.cost_micros - (OLD.status = 'failed') * OLD.cost_micros,
    canceled = canceled + (NEW.status = 'canceled') - (OLD.status = 'canceled'), canceled_segments = canceled_segments + (NEW.status = 'canceled') * NEW.segments - (OLD.status = 'canceled') * OLD.segments, canceled_cost_micros = canceled_cost_micros + (NEW.status = 'canceled') * NEW.cost_micros - (OLD.status = 'canceled') * OLD.cost_micros,
    expired = expired + (NEW.status = 'expired') - (OLD.status = 'expired'), expired_segments = expired_segments + (NEW.status = 'expired') * NEW.segments - (OLD.status = 'expired') * OLD.segments, expired_cost_micros = expired_cost_micros + (NEW.status = 'expired') * NEW.cost_micros - (OLD.status = 'expired') * OLD.cost_micros
  WHERE tenant_id = NEW.tenant_id AND grain = 2 AND bucket_start = (NEW.created_at / 86400000) * 86400000 AND channel = NEW.channel
    AND provider = COALESCE(NEW.provider, '') AND template_id = COALESCE(NEW.template_id, '') AND country = COALESCE(NEW.country, '')
    AND currency = COALESCE(NEW.currency, '') AND mode = NEW.mode;
END;
--> statement-breakpoint
CREATE TRIGGER stat_rollups_rekey AFTER UPDATE OF tenant_id, created_at, mode, channel, provider, template_id, country, currency ON messages
WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.mode IS NOT NEW.mode OR OLD.channel IS NOT NEW.channel OR OLD.provider IS NOT NEW.provider OR OLD.template_id IS NOT NEW.template_id OR OLD.country IS NOT NEW.country OR OLD.currency IS NOT NEW.currency BEGIN
  UPDATE stat_rollups SET
    scheduled = scheduled - (OLD.status = 'scheduled'), scheduled_segments = scheduled_segments - (OLD.status = 'scheduled') * OLD.segments, scheduled_cost_micros = scheduled_cost_micros - (OLD.status = 'scheduled') * OLD.cost_micros,
    queued = queued - (OLD.status = 'queued'), queued_segments = queued_segments - (OLD.status = 'queued') * OLD.segments, queued_cost_micros = queued_cost_micros - (OLD.status = 'queued') * OLD.cost_micros,
    sending = sending - (OLD.status = 'sending'), sending_segments = sending_segments - (OLD.status = 'sending') * OLD.segments, sending_cost_micros = sending_cost_micros - (OLD.status = 'sending') * OLD.cost_micros,
    sent = sent - (OLD.status = 'sent'), sent_segments = sent_segments - (OLD.status = 'sent') * OLD.segments, sent_cost_micros = sent_cost_micros - (OLD.status = 'sent') * OLD.cost_micros,
    delivered = delivered - (OLD.status = 'delivered'), delivered_segments = delivered_segments - (OLD.status = 'delivered') * OLD.segments, delivered_cost_micros = delivered_cost_micros - (OLD.status = 'delivered') * OLD.cost_micros,
    undelivered = undelivered - (OLD.status = 'undelivered'), undelivered_segments = undelivered_segments - (OLD.status = 'undelivered') * OLD.segments, undelivered_cost_micros = undelivered_cost_micros - (OLD.status = 'undelivered') * OLD.cost_micros,
    failed = failed - (OLD.status = 'failed'), failed_segments = failed_segments - (OLD.status = 'failed') * OLD.segments, failed_cost_micros = failed_cost_micros - (OLD.status = 'failed') * OLD.cost_micros,
    canceled = canceled - (OLD.status = 'canceled'), canceled_segments = canceled_segments - (OLD.status = 'canceled') * OLD.segments, canceled_cost_micros = canceled_cost_micros - (OLD.status = 'canceled') * OLD.cost_micros,
    expired = expired - (OLD.status = 'expired'), expired_segments = expired_segments - (OLD.status = 'expired') * OLD.segments, expired_cost_micros = expired_cost_micros - (OLD.status = 'expired') * OLD.cost_micros
  WHERE tenant_id = OLD.tenant_id AND grain = 0 AND bucket_start = (OLD.created_at / 900000) * 900000 AND channel = OLD.channel
    AND provider = COALESCE(OLD.provider, '') AND template_id = COALESCE(OLD.template_id, '') AND country = COALESCE(OLD.country, '')
    AND currency = COALESCE(OLD.currency, '') AND mode = OLD.mode;
  UPDATE stat_rollups SET
    scheduled = scheduled - (OLD.status = 'scheduled'), scheduled_segments = scheduled_segments - (OLD.status = 'scheduled') * OLD.segments, scheduled_cost_micros = scheduled_cost_micros - (OLD.status = 'scheduled') * OLD.cost_micros,
    queued = queued - (OLD.status = 'queued'), queued_segments = queued_segments - (OLD.status = 'queued') * OLD.segments, queued_cost_micros = queued_cost_micros - (OLD.status = 'queued') * OLD.cost_micros,
    sending = sending - (OLD.status = 'sending'), sending_segments = sending_segments - (OLD.status = 'sending') * OLD.segments, sending_cost_micros = sending_cost_micros - (OLD.status = 'sending') * OLD.cost_micros,
    sent = sent - (OLD.status = 'sent'), sent_segments = sent_segments - (OLD.status = 'sent') * OLD.segments, sent_cost_micros = sent_cost_micros - (OLD.status = 'sent') * OLD.cost_micros,
    delivered = delivered - (OLD.status = 'delivered'), delivered_segments = delivered_segments - (OLD.status = 'delivered') * OLD.segments, delivered_cost_micros = delivered_cost_micros - (OLD.status = 'delivered') * OLD.cost_micros,
    undelivered = undelivered - (OLD.status = 'undelivered'), undelivered_segments = undelivered_segments - (OLD.status = 'undelivered') * OLD.segments, undelivered_cost_micros = undelivered_cost_micros - (OLD.status = 'undelivered') * OLD.cost_micros,
    failed = failed - (OLD.status = 'failed'), failed_segments = failed_segments - (OLD.status = 'failed') * OLD.segments, failed_cost_micros = failed_cost_micros - (OLD.status = 'failed') * OLD.cost_micros,
    canceled = canceled - (OLD.status = 'canceled'), canceled_segments = canceled_segments - (OLD.status = 'canceled') * OLD.segments, canceled_cost_micros = canceled_cost_micros - (OLD.status = 'canceled') * OLD.cost_micros,
    expired = expired - (OLD.status = 'expired'), expired_segments = expired_segments - (OLD.status = 'expired') * OLD.segments, expired_cost_micros = expired_cost_micros - (OLD.status = 'expired') * OLD.cost_micros
  WHERE tenant_id = OLD.tenant_id AND grain = 1 AND bucket_start = (OLD.created_at / 3600000) * 3600000 AND channel = OLD.channel
    AND provider = COALESCE(OLD.provider, '') AND template_id = COALESCE(OLD.template_id, '') AND country = COALESCE(OLD.country, '')
    AND currency = COALESCE(OLD.currency, '') AND mode = OLD.mode;
  UPDATE stat_rollups SET
    scheduled = scheduled - (OLD.status = 'scheduled'), scheduled_segments = scheduled_segments - (OLD.status = 'scheduled') * OLD.segments, scheduled_cost_micros = scheduled_cost_micros - (OLD.status = 'scheduled') * OLD.cost_micros,
    queued = queued - (OLD.status = 'queued'), queued_segments = queued_segments - (OLD.status = 'queued') * OLD.segments, queued_cost_micros = queued_cost_micros - (OLD.status = 'queued') * OLD.cost_micros,
    sending = sending - (OLD.status = 'sending'), sending_segments = sending_segments - (OLD.status = 'sending') * OLD.segments, sending_cost_micros = sending_cost_micros - (OLD.status = 'sending') * OLD.cost_micros,
    sent = sent - (OLD.status = 'sent'), sent_segments = sent_segments - (OLD.status = 'sent') * OLD.segments, sent_cost_micros = sent_cost_micros - (OLD.status = 'sent') * OLD.cost_micros,
    delivered = delivered - (OLD.status = 'delivered'), delivered_segments = delivered_segments - (OLD.status = 'delivered') * OLD.segments, delivered_cost_micros = delivered_cost_micros - (OLD.status = 'delivered') * OLD.cost_micros,
    undelivered = undelivered - (OLD.status = 'undelivered'), undelivered_segments = undelivered_segments - (OLD.status = 'undelivered') * OLD.segments, undelivered_cost_micros = undelivered_cost_micros - (OLD.status = 'undelivered') * OLD.cost_micros,
    failed = failed - (OLD.status = 'failed'), failed_segments = failed_segments - (OLD.status = 'failed') * OLD.segments, failed_cost_micros = failed_cost_micros - (OLD.status = 'failed') * OLD.cost_micros,
    canceled = canceled - (OLD.status = 'canceled'), canceled_segments = canceled_segments - (OLD.status = 'canceled') * OLD.segments, canceled_cost_micros = canceled_cost_micros - (OLD.status = 'canceled') * OLD.cost_micros,
    expired = expired - (OLD.status = 'expired'), expired_segments = expired_segments - (OLD.status = 'expired') * OLD.segments, expired_cost_micros = expired_cost_micros - (OLD.status = 'expired') * OLD.cost_micros
  WHERE tenant_id = OLD.tenant_id AND grain = 2 AND bucket_start = (OLD.created_at / 86400000) * 86400000 AND channel = OLD.channel
    AND provider = COALESCE(OLD.provider, '') AND template_id = COALESCE(OLD.template_id, '') AND country = COALESCE(OLD.country, '')
    AND currency = COALESCE(OLD.currency, '') AND mode = OLD.mode;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
  VALUES (NEW.tenant_id, 0, (NEW.created_at / 900000) * 900000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), COALESCE(NEW.currency, ''), NEW.mode,
    (NEW.status = 'scheduled'), (NEW.status = 'scheduled') * NEW.segments, (NEW.status = 'scheduled') * NEW.cost_micros, (NEW.status = 'queued'), (NEW.status = 'queued') * NEW.segments, (NEW.status = 'queued') * NEW.cost_micros, (NEW.status = 'sending'), (NEW.status = 'sending') * NEW.segments, (NEW.status = 'sending') * NEW.cost_micros, (NEW.status = 'sent'), (NEW.status = 'sent') * NEW.segments, (NEW.status = 'sent') * NEW.cost_micros, (NEW.status = 'delivered'), (NEW.status = 'delivered') * NEW.segments, (NEW.status = 'delivered') * NEW.cost_micros, (NEW.status = 'undelivered'), (NEW.status = 'undelivered') * NEW.segments, (NEW.status = 'undelivered') * NEW.cost_micros, (NEW.status = 'failed'), (NEW.status = 'failed') * NEW.segments, (NEW.status = 'failed') * NEW.cost_micros, (NEW.status = 'canceled'), (NEW.status = 'canceled') * NEW.segments, (NEW.status = 'canceled') * NEW.cost_micros, (NEW.status = 'expired'), (NEW.status = 'expired') * NEW.segments, (NEW.status = 'expired') * NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode) DO UPDATE SET
    scheduled = scheduled + excluded.scheduled, scheduled_segments = scheduled_segments + excluded.scheduled_segments, scheduled_cost_micros = scheduled_cost_micros + excluded.scheduled_cost_micros,
    queued = queued + excluded.queued, queued_segments = queued_segments + excluded.queued_segments, queued_cost_micros = queued_cost_micros + excluded.queued_cost_micros,
    sending = sending + excluded.sending, sending_segments = sending_segments + excluded.sending_segments, sending_cost_micros = sending_cost_micros + excluded.sending_cost_micros,
    sent = sent + excluded.sent, sent_segments = sent_segments + excluded.sent_segments, sent_cost_micros = sent_cost_micros + excluded.sent_cost_micros,
    delivered = delivered + excluded.delivered, delivered_segments = delivered_segments + excluded.delivered_segments, delivered_cost_micros = delivered_cost_micros + excluded.delivered_cost_micros,
    undelivered = undelivered + excluded.undelivered, undelivered_segments = undelivered_segments + excluded.undelivered_segments, undelivered_cost_micros = undelivered_cost_micros + excluded.undelivered_cost_micros,
    failed = failed + excluded.failed, failed_segments = failed_segments + excluded.failed_segments, failed_cost_micros = failed_cost_micros + excluded.failed_cost_micros,
    canceled = canceled + excluded.canceled, canceled_segments = canceled_segments + excluded.canceled_segments, canceled_cost_micros = canceled_cost_micros + excluded.canceled_cost_micros,
    expired = expired + excluded.expired, expired_segments = expired_segments + excluded.expired_segments, expired_cost_micros = expired_cost_micros + excluded.expired_cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
  VALUES (NEW.tenant_id, 1, (NEW.created_at / 3600000) * 3600000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), COALESCE(NEW.currency, ''), NEW.mode,
    (NEW.status = 'scheduled'), (NEW.status = 'scheduled') * NEW.segments, (NEW.status = 'scheduled') * NEW.cost_micros, (NEW.status = 'queued'), (NEW.status = 'queued') * NEW.segments, (NEW.status = 'queued') * NEW.cost_micros, (NEW.status = 'sending'), (NEW.status = 'sending') * NEW.segments, (NEW.status = 'sending') * NEW.cost_micros, (NEW.status = 'sent'), (NEW.status = 'sent') * NEW.segments, (NEW.status = 'sent') * NEW.cost_micros, (NEW.status = 'delivered'), (NEW.status = 'delivered') * NEW.segments, (NEW.status = 'delivered') * NEW.cost_micros, (NEW.status = 'undelivered'), (NEW.status = 'undelivered') * NEW.segments, (NEW.status = 'undelivered') * NEW.cost_micros, (NEW.status = 'failed'), (NEW.status = 'failed') * NEW.segments, (NEW.status = 'failed') * NEW.cost_micros, (NEW.status = 'canceled'), (NEW.status = 'canceled') * NEW.segments, (NEW.status = 'canceled') * NEW.cost_micros, (NEW.status = 'expired'), (NEW.status = 'expired') * NEW.segments, (NEW.status = 'expired') * NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode) DO UPDATE SET
    scheduled = scheduled + excluded.scheduled, scheduled_segments = scheduled_segments + excluded.scheduled_segments, scheduled_cost_micros = scheduled_cost_micros + excluded.scheduled_cost_micros,
    queued = queued + excluded.queued, queued_segments = queued_segments + excluded.queued_segments, queued_cost_micros = queued_cost_micros + excluded.queued_cost_micros,
    sending = sending + excluded.sending, sending_segments = sending_segments + excluded.sending_segments, sending_cost_micros = sending_cost_micros + excluded.sending_cost_micros,
    sent = sent + excluded.sent, sent_segments = sent_segments + excluded.sent_segments, sent_cost_micros = sent_cost_micros + excluded.sent_cost_micros,
    delivered = delivered + excluded.delivered, delivered_segments = delivered_segments + excluded.delivered_segments, delivered_cost_micros = delivered_cost_micros + excluded.delivered_cost_micros,
    undelivered = undelivered + excluded.undelivered, undelivered_segments = undelivered_segments + excluded.undelivered_segments, undelivered_cost_micros = undelivered_cost_micros + excluded.undelivered_cost_micros,
    failed = failed + excluded.failed, failed_segments = failed_segments + excluded.failed_segments, failed_cost_micros = failed_cost_micros + excluded.failed_cost_micros,
    canceled = canceled + excluded.canceled, canceled_segments = canceled_segments + excluded.canceled_segments, canceled_cost_micros = canceled_cost_micros + excluded.canceled_cost_micros,
    expired = expired + excluded.expired, expired_segments = expired_segments + excluded.expired_segments, expired_cost_micros = expired_cost_micros + excluded.expired_cost_micros;
  INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
  VALUES (NEW.tenant_id, 2, (NEW.created_at / 86400000) * 86400000, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.template_id, ''), COALESCE(NEW.country, ''), COALESCE(NEW.currency, ''), NEW.mode,
    (NEW.status = 'scheduled'), (NEW.status = 'scheduled') * NEW.segments, (NEW.status = 'scheduled') * NEW.cost_micros, (NEW.status = 'queued'), (NEW.status = 'queued') * NEW.segments, (NEW.status = 'queued') * NEW.cost_micros, (NEW.status = 'sending'), (NEW.status = 'sending') * NEW.segments, (NEW.status = 'sending') * NEW.cost_micros, (NEW.status = 'sent'), (NEW.status = 'sent') * NEW.segments, (NEW.status = 'sent') * NEW.cost_micros, (NEW.status = 'delivered'), (NEW.status = 'delivered') * NEW.segments, (NEW.status = 'delivered') * NEW.cost_micros, (NEW.status = 'undelivered'), (NEW.status = 'undelivered') * NEW.segments, (NEW.status = 'undelivered') * NEW.cost_micros, (NEW.status = 'failed'), (NEW.status = 'failed') * NEW.segments, (NEW.status = 'failed') * NEW.cost_micros, (NEW.status = 'canceled'), (NEW.status = 'canceled') * NEW.segments, (NEW.status = 'canceled') * NEW.cost_micros, (NEW.status = 'expired'), (NEW.status = 'expired') * NEW.segments, (NEW.status = 'expired') * NEW.cost_micros)
  ON CONFLICT (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode) DO UPDATE SET
    scheduled = scheduled + excluded.scheduled, scheduled_segments = scheduled_segments + excluded.scheduled_segments, scheduled_cost_micros = scheduled_cost_micros + excluded.scheduled_cost_micros,
    queued = queued + excluded.queued, queued_segments = queued_segments + excluded.queued_segments, queued_cost_micros = queued_cost_micros + excluded.queued_cost_micros,
    sending = sending + excluded.sending, sending_segments = sending_segments + excluded.sending_segments, sending_cost_micros = sending_cost_micros + excluded.sending_cost_micros,
    sent = sent + excluded.sent, sent_segments = sent_segments + excluded.sent_segments, sent_cost_micros = sent_cost_micros + excluded.sent_cost_micros,
    delivered = delivered + excluded.delivered, delivered_segments = delivered_segments + excluded.delivered_segments, delivered_cost_micros = delivered_cost_micros + excluded.delivered_cost_micros,
    undelivered = undelivered + excluded.undelivered, undelivered_segments = undelivered_segments + excluded.undelivered_segments, undelivered_cost_micros = undelivered_cost_micros + excluded.undelivered_cost_micros,
    failed = failed + excluded.failed, failed_segments = failed_segments + excluded.failed_segments, failed_cost_micros = failed_cost_micros + excluded.failed_cost_micros,
    canceled = canceled + excluded.canceled, canceled_segments = canceled_segments + excluded.canceled_segments, canceled_cost_micros = canceled_cost_micros + excluded.canceled_cost_micros,
    expired = expired + excluded.expired, expired_segments = expired_segments + excluded.expired_segments, expired_cost_micros = expired_cost_micros + excluded.expired_cost_micros;
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
INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
SELECT tenant_id, 0, (created_at / 900000) * 900000, channel, COALESCE(provider, ''), COALESCE(template_id, ''), COALESCE(country, ''), COALESCE(currency, ''), mode,
  SUM(status = 'scheduled'), SUM((status = 'scheduled') * segments), SUM((status = 'scheduled') * cost_micros), SUM(status = 'queued'), SUM((status = 'queued') * segments), SUM((status = 'queued') * cost_micros), SUM(status = 'sending'), SUM((status = 'sending') * segments), SUM((status = 'sending') * cost_micros), SUM(status = 'sent'), SUM((status = 'sent') * segments), SUM((status = 'sent') * cost_micros), SUM(status = 'delivered'), SUM((status = 'delivered') * segments), SUM((status = 'delivered') * cost_micros), SUM(status = 'undelivered'), SUM((status = 'undelivered') * segments), SUM((status = 'undelivered') * cost_micros), SUM(status = 'failed'), SUM((status = 'failed') * segments), SUM((status = 'failed') * cost_micros), SUM(status = 'canceled'), SUM((status = 'canceled') * segments), SUM((status = 'canceled') * cost_micros), SUM(status = 'expired'), SUM((status = 'expired') * segments), SUM((status = 'expired') * cost_micros)
FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
--> statement-breakpoint
INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
SELECT tenant_id, 1, (created_at / 3600000) * 3600000, channel, COALESCE(provider, ''), COALESCE(template_id, ''), COALESCE(country, ''), COALESCE(currency, ''), mode,
  SUM(status = 'scheduled'), SUM((status = 'scheduled') * segments), SUM((status = 'scheduled') * cost_micros), SUM(status = 'queued'), SUM((status = 'queued') * segments), SUM((status = 'queued') * cost_micros), SUM(status = 'sending'), SUM((status = 'sending') * segments), SUM((status = 'sending') * cost_micros), SUM(status = 'sent'), SUM((status = 'sent') * segments), SUM((status = 'sent') * cost_micros), SUM(status = 'delivered'), SUM((status = 'delivered') * segments), SUM((status = 'delivered') * cost_micros), SUM(status = 'undelivered'), SUM((status = 'undelivered') * segments), SUM((status = 'undelivered') * cost_micros), SUM(status = 'failed'), SUM((status = 'failed') * segments), SUM((status = 'failed') * cost_micros), SUM(status = 'canceled'), SUM((status = 'canceled') * segments), SUM((status = 'canceled') * cost_micros), SUM(status = 'expired'), SUM((status = 'expired') * segments), SUM((status = 'expired') * cost_micros)
FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
--> statement-breakpoint
INSERT INTO stat_rollups (tenant_id, grain, bucket_start, channel, provider, template_id, country, currency, mode, scheduled, scheduled_segments, scheduled_cost_micros, queued, queued_segments, queued_cost_micros, sending, sending_segments, sending_cost_micros, sent, sent_segments, sent_cost_micros, delivered, delivered_segments, delivered_cost_micros, undelivered, undelivered_segments, undelivered_cost_micros, failed, failed_segments, failed_cost_micros, canceled, canceled_segments, canceled_cost_micros, expired, expired_segments, expired_cost_micros)
SELECT tenant_id, 2, (created_at / 86400000) * 86400000, channel, COALESCE(provider, ''), COALESCE(template_id, ''), COALESCE(country, ''), COALESCE(currency, ''), mode,
  SUM(status = 'scheduled'), SUM((status = 'scheduled') * segments), SUM((status = 'scheduled') * cost_micros), SUM(status = 'queued'), SUM((status = 'queued') * segments), SUM((status = 'queued') * cost_micros), SUM(status = 'sending'), SUM((status = 'sending') * segments), SUM((status = 'sending') * cost_micros), SUM(status = 'sent'), SUM((status = 'sent') * segments), SUM((status = 'sent') * cost_micros), SUM(status = 'delivered'), SUM((status = 'delivered') * segments), SUM((status = 'delivered') * cost_micros), SUM(status = 'undelivered'), SUM((status = 'undelivered') * segments), SUM((status = 'undelivered') * cost_micros), SUM(status = 'failed'), SUM((status = 'failed') * segments), SUM((status = 'failed') * cost_micros), SUM(status = 'canceled'), SUM((status = 'canceled') * segments), SUM((status = 'canceled') * cost_micros), SUM(status = 'expired'), SUM((status = 'expired') * segments), SUM((status = 'expired') * cost_micros)
FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
--> statement-breakpoint
INSERT INTO stat_counters (tenant_id, bucket_start, metric, channel, provider, n)
SELECT tenant_id, (received_at / 900000) * 900000, 'inbound', channel, provider, COUNT(*) FROM inbound_messages GROUP BY 1, 2, 4, 5;
