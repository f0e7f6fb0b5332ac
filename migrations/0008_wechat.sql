CREATE TABLE `auto_reply_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`channel` text NOT NULL,
	`scope` text NOT NULL,
	`match` text NOT NULL,
	`keyword` text,
	`reply` text NOT NULL,
	`priority` integer DEFAULT 100 NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `auto_reply_rules_scope_idx` ON `auto_reply_rules` (`channel`,`scope`,`priority`);--> statement-breakpoint
CREATE TABLE `wechat_apps` (
	`app_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`mode` text NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`api_base_url` text,
	`token_endpoint` text DEFAULT 'stable_token' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `wechat_apps_tenant_idx` ON `wechat_apps` (`tenant_id`,`app_id`);--> statement-breakpoint
CREATE TABLE `wechat_inbox` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`dedup_key` text NOT NULL,
	`msg_type` text NOT NULL,
	`event` text,
	`event_key` text,
	`from_user` text NOT NULL,
	`to_user` text NOT NULL,
	`create_time` integer NOT NULL,
	`fields` text NOT NULL,
	`reply` text,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `wechat_inbox_app_dedup_unique` ON `wechat_inbox` (`app_id`,`dedup_key`);--> statement-breakpoint
CREATE INDEX `wechat_inbox_app_idx` ON `wechat_inbox` (`app_id`,`id`);