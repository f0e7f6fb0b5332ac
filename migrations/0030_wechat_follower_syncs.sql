CREATE TABLE `wechat_follower_syncs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`status` text NOT NULL,
	`total` integer,
	`fetched` integer DEFAULT 0 NOT NULL,
	`pages` integer DEFAULT 0 NOT NULL,
	`error` text,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `wechat_follower_syncs_app_idx` ON `wechat_follower_syncs` (`tenant_id`,`app_id`,`started_at`);