CREATE TABLE `wechat_broadcast_recipients` (
	`broadcast_id` text NOT NULL,
	`openid` text NOT NULL,
	`chunk` integer NOT NULL,
	`status` text NOT NULL,
	`msg_id` text,
	`error` text,
	PRIMARY KEY(`broadcast_id`, `openid`)
);
--> statement-breakpoint
CREATE INDEX `wechat_broadcast_recipients_chunk_idx` ON `wechat_broadcast_recipients` (`broadcast_id`,`chunk`);--> statement-breakpoint
CREATE INDEX `wechat_broadcast_recipients_status_idx` ON `wechat_broadcast_recipients` (`broadcast_id`,`status`);--> statement-breakpoint
ALTER TABLE `wechat_broadcasts` ADD `fanout_pages` integer;--> statement-breakpoint
ALTER TABLE `wechat_broadcasts` ADD `fanout_listed` integer;--> statement-breakpoint
ALTER TABLE `wechat_broadcasts` ADD `fanout_total` integer;--> statement-breakpoint
ALTER TABLE `wechat_broadcasts` ADD `fanout_sent` integer;--> statement-breakpoint
ALTER TABLE `wechat_broadcasts` ADD `fanout_errors` integer;