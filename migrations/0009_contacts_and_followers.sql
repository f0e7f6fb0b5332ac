CREATE TABLE `contact_wechat_bindings` (
	`contact_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`app_id` text NOT NULL,
	`openid` text NOT NULL,
	`source` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`contact_id`, `app_id`),
	FOREIGN KEY (`contact_id`) REFERENCES `contacts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contact_wechat_app_openid_unique` ON `contact_wechat_bindings` (`app_id`,`openid`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`external_id` text NOT NULL,
	`name` text,
	`phone` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_tenant_external_unique` ON `contacts` (`tenant_id`,`external_id`);--> statement-breakpoint
CREATE TABLE `wechat_followers` (
	`app_id` text NOT NULL,
	`openid` text NOT NULL,
	`tenant_id` text NOT NULL,
	`following` integer NOT NULL,
	`info` text,
	`tag_ids` text DEFAULT '[]' NOT NULL,
	`last_interaction_at` integer,
	`subscribed_at` integer,
	`unsubscribed_at` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`app_id`, `openid`)
);
