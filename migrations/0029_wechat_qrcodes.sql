CREATE TABLE `wechat_qrcodes` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`scene` text NOT NULL,
	`scene_str` text NOT NULL,
	`temporary` integer NOT NULL,
	`action` text,
	`single_use` integer NOT NULL,
	`ticket` text NOT NULL,
	`url` text NOT NULL,
	`expires_at` integer,
	`used_by` text,
	`used_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `wechat_qrcodes_scene_idx` ON `wechat_qrcodes` (`tenant_id`,`app_id`,`scene_str`);--> statement-breakpoint
CREATE INDEX `wechat_qrcodes_tenant_app_idx` ON `wechat_qrcodes` (`tenant_id`,`app_id`,`id`);