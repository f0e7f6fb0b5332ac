CREATE TABLE `wechat_service_reservations` (
	`reservation_key` text PRIMARY KEY NOT NULL,
	`app_id` text NOT NULL,
	`openid` text NOT NULL,
	`window_opened_at` integer NOT NULL,
	`message_id` text NOT NULL,
	`reserved_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `wechat_service_reservations_window` ON `wechat_service_reservations` (`app_id`,`openid`,`window_opened_at`);--> statement-breakpoint
ALTER TABLE `wechat_followers` ADD `service_window_kind` text;--> statement-breakpoint
ALTER TABLE `wechat_followers` ADD `service_window_opened_at` integer;--> statement-breakpoint
-- Windows opened before this migration were all read as a message's 48 hours.
UPDATE `wechat_followers` SET `service_window_kind` = 'message', `service_window_opened_at` = `last_interaction_at` WHERE `last_interaction_at` IS NOT NULL;
