CREATE TABLE `webchat_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`counterpart` text NOT NULL,
	`body` text NOT NULL,
	`sender` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webchat_messages_counterpart` ON `webchat_messages` (`tenant_id`,`counterpart`,`created_at`);