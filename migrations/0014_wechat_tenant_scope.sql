-- Every WeChat row belongs to the tenant that owns its app now. Rows left behind by an app deleted
-- before this migration (or taken over since, under the new owner's app id) belong to no one who
-- can reach them: they go, as an app's rows now go with it.
DELETE FROM `auto_reply_rules` WHERE `channel` = 'wechat' AND NOT EXISTS (SELECT 1 FROM `wechat_apps` AS a WHERE a.`app_id` = `auto_reply_rules`.`scope` AND a.`tenant_id` = `auto_reply_rules`.`tenant_id`);--> statement-breakpoint
DELETE FROM `wechat_inbox` WHERE NOT EXISTS (SELECT 1 FROM `wechat_apps` AS a WHERE a.`app_id` = `wechat_inbox`.`app_id` AND a.`tenant_id` = `wechat_inbox`.`tenant_id`);--> statement-breakpoint
DELETE FROM `contact_wechat_bindings` WHERE NOT EXISTS (SELECT 1 FROM `wechat_apps` AS a WHERE a.`app_id` = `contact_wechat_bindings`.`app_id` AND a.`tenant_id` = `contact_wechat_bindings`.`tenant_id`);--> statement-breakpoint
DROP INDEX `auto_reply_rules_scope_idx`;--> statement-breakpoint
CREATE INDEX `auto_reply_rules_tenant_scope_idx` ON `auto_reply_rules` (`tenant_id`,`channel`,`scope`,`priority`);--> statement-breakpoint
DROP INDEX `contact_wechat_app_openid_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `contact_wechat_tenant_app_openid_unique` ON `contact_wechat_bindings` (`tenant_id`,`app_id`,`openid`);--> statement-breakpoint
DROP INDEX `wechat_inbox_app_dedup_unique`;--> statement-breakpoint
DROP INDEX `wechat_inbox_app_idx`;--> statement-breakpoint
CREATE UNIQUE INDEX `wechat_inbox_dedup_unique` ON `wechat_inbox` (`tenant_id`,`app_id`,`dedup_key`);--> statement-breakpoint
CREATE INDEX `wechat_inbox_tenant_app_idx` ON `wechat_inbox` (`tenant_id`,`app_id`,`id`);--> statement-breakpoint
-- The two tables below are rebuilt (SQLite cannot change a primary key, nor add a NOT NULL column
-- without a default). Neither references another table nor is referenced, so the rebuild needs
-- none of the foreign-key pragmas drizzle-kit writes (which D1 does not honour).
-- A reservation takes its tenant from its app's row; one of an app with no owner goes.
CREATE TABLE `__new_wechat_service_reservations` (
	`reservation_key` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`openid` text NOT NULL,
	`window_opened_at` integer NOT NULL,
	`message_id` text NOT NULL,
	`reserved_at` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_wechat_service_reservations`("reservation_key", "tenant_id", "app_id", "openid", "window_opened_at", "message_id", "reserved_at") SELECT r."reservation_key", a."tenant_id", r."app_id", r."openid", r."window_opened_at", r."message_id", r."reserved_at" FROM `wechat_service_reservations` AS r JOIN `wechat_apps` AS a ON a."app_id" = r."app_id";--> statement-breakpoint
DROP TABLE `wechat_service_reservations`;--> statement-breakpoint
ALTER TABLE `__new_wechat_service_reservations` RENAME TO `wechat_service_reservations`;--> statement-breakpoint
CREATE INDEX `wechat_service_reservations_tenant_window` ON `wechat_service_reservations` (`tenant_id`,`app_id`,`openid`,`window_opened_at`);--> statement-breakpoint
-- Followers are keyed by tenant first; only the rows of each app's current owner are kept.
CREATE TABLE `__new_wechat_followers` (
	`app_id` text NOT NULL,
	`openid` text NOT NULL,
	`tenant_id` text NOT NULL,
	`following` integer NOT NULL,
	`info` text,
	`tag_ids` text DEFAULT '[]' NOT NULL,
	`last_interaction_at` integer,
	`service_window_kind` text,
	`service_window_opened_at` integer,
	`subscribed_at` integer,
	`unsubscribed_at` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `app_id`, `openid`)
);
--> statement-breakpoint
INSERT INTO `__new_wechat_followers`("app_id", "openid", "tenant_id", "following", "info", "tag_ids", "last_interaction_at", "service_window_kind", "service_window_opened_at", "subscribed_at", "unsubscribed_at", "updated_at") SELECT f."app_id", f."openid", f."tenant_id", f."following", f."info", f."tag_ids", f."last_interaction_at", f."service_window_kind", f."service_window_opened_at", f."subscribed_at", f."unsubscribed_at", f."updated_at" FROM `wechat_followers` AS f JOIN `wechat_apps` AS a ON a."app_id" = f."app_id" AND a."tenant_id" = f."tenant_id";--> statement-breakpoint
DROP TABLE `wechat_followers`;--> statement-breakpoint
ALTER TABLE `__new_wechat_followers` RENAME TO `wechat_followers`;
