CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`channel` text NOT NULL,
	`counterpart` text NOT NULL,
	`contact_id` text,
	`last_message` text,
	`last_activity_at` integer NOT NULL,
	`unread_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conversations_counterpart` ON `conversations` (`tenant_id`,`channel`,`counterpart`);--> statement-breakpoint
CREATE INDEX `conversations_activity` ON `conversations` (`tenant_id`,`last_activity_at`);--> statement-breakpoint
CREATE TABLE `forwarding_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`match` text NOT NULL,
	`keyword` text,
	`target_type` text NOT NULL,
	`target` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `forwarding_rules_tenant` ON `forwarding_rules` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `inbound_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`channel` text NOT NULL,
	`conversation_id` text NOT NULL,
	`sender` text NOT NULL,
	`recipient` text NOT NULL,
	`body` text NOT NULL,
	`provider` text NOT NULL,
	`provider_message_id` text NOT NULL,
	`raw` text NOT NULL,
	`handling` text DEFAULT '{}' NOT NULL,
	`auto_reply_message_id` text,
	`received_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `inbound_messages_dedup` ON `inbound_messages` (`tenant_id`,`provider`,`provider_message_id`);--> statement-breakpoint
CREATE INDEX `inbound_messages_tenant` ON `inbound_messages` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `inbound_messages_conversation` ON `inbound_messages` (`conversation_id`,`id`);--> statement-breakpoint
CREATE INDEX `inbound_messages_sender` ON `inbound_messages` (`tenant_id`,`sender`,`received_at`);--> statement-breakpoint
CREATE TABLE `opt_outs` (
	`tenant_id` text NOT NULL,
	`phone` text NOT NULL,
	`source` text NOT NULL,
	`reason` text,
	`inbound_id` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `phone`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `auto_reply_rules` ADD `active_window` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `verification_opt_out_exempt` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `opt_out_confirmation` text;