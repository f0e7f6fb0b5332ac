CREATE TABLE `verifications` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`channel` text NOT NULL,
	`to` text NOT NULL,
	`recipient` text NOT NULL,
	`country` text,
	`app_id` text,
	`status` text NOT NULL,
	`code_hash` text NOT NULL,
	`code_length` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`send_count` integer DEFAULT 1 NOT NULL,
	`message_id` text,
	`mode` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`approved_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `verifications_recipient` ON `verifications` (`tenant_id`,`to`,`status`);--> statement-breakpoint
CREATE INDEX `verifications_created` ON `verifications` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `verifications_due` ON `verifications` (`status`,`expires_at`);--> statement-breakpoint
CREATE INDEX `verifications_message` ON `verifications` (`message_id`);