/*
 * Latency histograms as one row each (issue 17): a column per bucket of domain/stats
 * LATENCY_BOUNDS_MS (b0 … b15, and b16 for anything longer) instead of a row per bucket (`le`,
 * `n`), so a read of a month by hour sums a quarter of the rows; and the metric ahead of the time
 * in the key, so reading `delivered` walks one stretch and skips the `sent` rows.
 * Hand-written like 0027 (drizzle cannot express WITHOUT ROWID nor the triggers): the two triggers
 * that write the table are dropped first and made again below with the same guards (a change
 * that writes nothing fires nothing, so counts nothing), each adding 1 to the column its latency
 * falls in, at all three grains in one upsert. The rows kept so far are moved over, summed.
 */
PRAGMA foreign_keys=OFF;
--> statement-breakpoint
DROP TRIGGER IF EXISTS stat_latency_sent;
--> statement-breakpoint
DROP TRIGGER IF EXISTS stat_latency_delivered;
--> statement-breakpoint
CREATE TABLE `__new_stat_latencies` (
	`tenant_id` text NOT NULL,
	`metric` text NOT NULL,
	`grain` integer NOT NULL,
	`bucket_start` integer NOT NULL,
	`channel` text NOT NULL,
	`provider` text NOT NULL,
	`country` text NOT NULL,
	`mode` text NOT NULL,
	`b0` integer DEFAULT 0 NOT NULL,
	`b1` integer DEFAULT 0 NOT NULL,
	`b2` integer DEFAULT 0 NOT NULL,
	`b3` integer DEFAULT 0 NOT NULL,
	`b4` integer DEFAULT 0 NOT NULL,
	`b5` integer DEFAULT 0 NOT NULL,
	`b6` integer DEFAULT 0 NOT NULL,
	`b7` integer DEFAULT 0 NOT NULL,
	`b8` integer DEFAULT 0 NOT NULL,
	`b9` integer DEFAULT 0 NOT NULL,
	`b10` integer DEFAULT 0 NOT NULL,
	`b11` integer DEFAULT 0 NOT NULL,
	`b12` integer DEFAULT 0 NOT NULL,
	`b13` integer DEFAULT 0 NOT NULL,
	`b14` integer DEFAULT 0 NOT NULL,
	`b15` integer DEFAULT 0 NOT NULL,
	`b16` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `metric`, `grain`, `bucket_start`, `channel`, `provider`, `country`, `mode`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_stat_latencies` (tenant_id, metric, grain, bucket_start, channel, provider, country, mode, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16)
SELECT tenant_id, metric, grain, bucket_start, channel, provider, country, mode,
  SUM(CASE WHEN le = 0 THEN n ELSE 0 END), SUM(CASE WHEN le = 1 THEN n ELSE 0 END), SUM(CASE WHEN le = 2 THEN n ELSE 0 END), SUM(CASE WHEN le = 3 THEN n ELSE 0 END), SUM(CASE WHEN le = 4 THEN n ELSE 0 END), SUM(CASE WHEN le = 5 THEN n ELSE 0 END), SUM(CASE WHEN le = 6 THEN n ELSE 0 END), SUM(CASE WHEN le = 7 THEN n ELSE 0 END), SUM(CASE WHEN le = 8 THEN n ELSE 0 END), SUM(CASE WHEN le = 9 THEN n ELSE 0 END), SUM(CASE WHEN le = 10 THEN n ELSE 0 END), SUM(CASE WHEN le = 11 THEN n ELSE 0 END), SUM(CASE WHEN le = 12 THEN n ELSE 0 END), SUM(CASE WHEN le = 13 THEN n ELSE 0 END), SUM(CASE WHEN le = 14 THEN n ELSE 0 END), SUM(CASE WHEN le = 15 THEN n ELSE 0 END), SUM(CASE WHEN le = 16 THEN n ELSE 0 END)
FROM `stat_latencies` GROUP BY tenant_id, metric, grain, bucket_start, channel, provider, country, mode;
--> statement-breakpoint
DROP TABLE `stat_latencies`;
--> statement-breakpoint
ALTER TABLE `__new_stat_latencies` RENAME TO `stat_latencies`;
--> statement-breakpoint
PRAGMA foreign_keys=ON;
--> statement-breakpoint
CREATE TRIGGER stat_latency_sent AFTER UPDATE OF sent_at ON messages
WHEN OLD.sent_at IS NULL AND NEW.sent_at IS NOT NULL BEGIN
  INSERT INTO stat_latencies (tenant_id, metric, grain, bucket_start, channel, provider, country, mode, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16)
  SELECT NEW.tenant_id, 'sent', g.grain, (NEW.created_at / g.unit) * g.unit, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.mode,
    (x.le = 0), (x.le = 1), (x.le = 2), (x.le = 3), (x.le = 4), (x.le = 5), (x.le = 6), (x.le = 7), (x.le = 8), (x.le = 9), (x.le = 10), (x.le = 11), (x.le = 12), (x.le = 13), (x.le = 14), (x.le = 15), (x.le = 16)
  FROM (SELECT CASE WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 250 THEN 0 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 500 THEN 1 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 1000 THEN 2 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 2000 THEN 3 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 5000 THEN 4 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 10000 THEN 5 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 20000 THEN 6 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 30000 THEN 7 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 60000 THEN 8 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 120000 THEN 9 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 300000 THEN 10 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 600000 THEN 11 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 1800000 THEN 12 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 3600000 THEN 13 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 21600000 THEN 14 WHEN NEW.sent_at - COALESCE(NEW.send_at, NEW.created_at) < 86400000 THEN 15 ELSE 16 END AS le) AS x
  CROSS JOIN (SELECT 0 AS grain, 900000 AS unit UNION ALL SELECT 1, 3600000 UNION ALL SELECT 2, 86400000) AS g
  WHERE true
  ON CONFLICT (tenant_id, metric, grain, bucket_start, channel, provider, country, mode) DO UPDATE SET
    b0 = b0 + excluded.b0, b1 = b1 + excluded.b1, b2 = b2 + excluded.b2, b3 = b3 + excluded.b3, b4 = b4 + excluded.b4, b5 = b5 + excluded.b5, b6 = b6 + excluded.b6, b7 = b7 + excluded.b7, b8 = b8 + excluded.b8, b9 = b9 + excluded.b9, b10 = b10 + excluded.b10, b11 = b11 + excluded.b11, b12 = b12 + excluded.b12, b13 = b13 + excluded.b13, b14 = b14 + excluded.b14, b15 = b15 + excluded.b15, b16 = b16 + excluded.b16;
END;
--> statement-breakpoint
CREATE TRIGGER stat_latency_delivered AFTER UPDATE OF status ON messages
WHEN NEW.status = 'delivered' AND OLD.status IS NOT 'delivered' BEGIN
  INSERT INTO stat_latencies (tenant_id, metric, grain, bucket_start, channel, provider, country, mode, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16)
  SELECT NEW.tenant_id, 'delivered', g.grain, (NEW.created_at / g.unit) * g.unit, NEW.channel, COALESCE(NEW.provider, ''), COALESCE(NEW.country, ''), NEW.mode,
    (x.le = 0), (x.le = 1), (x.le = 2), (x.le = 3), (x.le = 4), (x.le = 5), (x.le = 6), (x.le = 7), (x.le = 8), (x.le = 9), (x.le = 10), (x.le = 11), (x.le = 12), (x.le = 13), (x.le = 14), (x.le = 15), (x.le = 16)
  FROM (SELECT CASE WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 250 THEN 0 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 500 THEN 1 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 1000 THEN 2 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 2000 THEN 3 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 5000 THEN 4 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 10000 THEN 5 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 20000 THEN 6 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 30000 THEN 7 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 60000 THEN 8 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 120000 THEN 9 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 300000 THEN 10 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 600000 THEN 11 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 1800000 THEN 12 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 3600000 THEN 13 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 21600000 THEN 14 WHEN COALESCE(NEW.completed_at, NEW.updated_at) - COALESCE(NEW.send_at, NEW.created_at) < 86400000 THEN 15 ELSE 16 END AS le) AS x
  CROSS JOIN (SELECT 0 AS grain, 900000 AS unit UNION ALL SELECT 1, 3600000 UNION ALL SELECT 2, 86400000) AS g
  WHERE true
  ON CONFLICT (tenant_id, metric, grain, bucket_start, channel, provider, country, mode) DO UPDATE SET
    b0 = b0 + excluded.b0, b1 = b1 + excluded.b1, b2 = b2 + excluded.b2, b3 = b3 + excluded.b3, b4 = b4 + excluded.b4, b5 = b5 + excluded.b5, b6 = b6 + excluded.b6, b7 = b7 + excluded.b7, b8 = b8 + excluded.b8, b9 = b9 + excluded.b9, b10 = b10 + excluded.b10, b11 = b11 + excluded.b11, b12 = b12 + excluded.b12, b13 = b13 + excluded.b13, b14 = b14 + excluded.b14, b15 = b15 + excluded.b15, b16 = b16 + excluded.b16;
END;
