CREATE TABLE `conversation_events` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`type` text NOT NULL,
	`from_state` text,
	`to_state` text,
	`agent_id` text,
	`actor` text NOT NULL,
	`detail` text DEFAULT '{}' NOT NULL,
	`at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `conversation_events_conversation` ON `conversation_events` (`tenant_id`,`conversation_id`,`at`);--> statement-breakpoint
ALTER TABLE `conversations` ADD `desk_state` text DEFAULT 'bot' NOT NULL;--> statement-breakpoint
ALTER TABLE `conversations` ADD `agent_id` text;--> statement-breakpoint
ALTER TABLE `conversations` ADD `skill` text;--> statement-breakpoint
ALTER TABLE `conversations` ADD `due_at` integer;--> statement-breakpoint
ALTER TABLE `conversations` ADD `desk_version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `conversations` ADD `satisfaction` integer;--> statement-breakpoint
CREATE INDEX `conversations_desk` ON `conversations` (`tenant_id`,`desk_state`,`agent_id`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `desk` text;