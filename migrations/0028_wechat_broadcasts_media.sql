CREATE TABLE `wechat_broadcast_jobs` (
	`broadcast_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`msg_id` text NOT NULL,
	`msg_data_id` text,
	`status` text,
	`total` integer,
	`after_filter` integer,
	`sent` integer,
	`errors` integer,
	`finished_at` integer,
	PRIMARY KEY(`broadcast_id`, `msg_id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `wechat_broadcast_jobs_msg_idx` ON `wechat_broadcast_jobs` (`tenant_id`,`app_id`,`msg_id`);--> statement-breakpoint
CREATE TABLE `wechat_broadcasts` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`target` text NOT NULL,
	`type` text NOT NULL,
	`content` text NOT NULL,
	`status` text NOT NULL,
	`review_reason` text,
	`failure` text,
	`quota_period` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	`canceled_at` integer
);
--> statement-breakpoint
CREATE INDEX `wechat_broadcasts_app_idx` ON `wechat_broadcasts` (`tenant_id`,`app_id`,`id`);--> statement-breakpoint
CREATE INDEX `wechat_broadcasts_quota_idx` ON `wechat_broadcasts` (`tenant_id`,`app_id`,`quota_period`);--> statement-breakpoint
CREATE TABLE `wechat_media` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`type` text NOT NULL,
	`permanent` integer NOT NULL,
	`media_id` text NOT NULL,
	`url` text,
	`filename` text,
	`bytes` integer NOT NULL,
	`expires_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `wechat_media_app_idx` ON `wechat_media` (`tenant_id`,`app_id`,`id`);--> statement-breakpoint
CREATE INDEX `wechat_media_media_id_idx` ON `wechat_media` (`tenant_id`,`app_id`,`media_id`);--> statement-breakpoint
ALTER TABLE `wechat_apps` ADD `account_type` text DEFAULT 'service' NOT NULL;--> statement-breakpoint
ALTER TABLE `wechat_apps` ADD `verified` integer DEFAULT false NOT NULL;