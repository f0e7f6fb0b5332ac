CREATE TABLE `inspection_checklists` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`items` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `inspection_checklists_tenant` ON `inspection_checklists` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `inspections` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`agent_id` text,
	`checklist_id` text NOT NULL,
	`inspector_id` text NOT NULL,
	`items` text NOT NULL,
	`score` integer NOT NULL,
	`max_score` integer NOT NULL,
	`comment` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `inspections_conversation` ON `inspections` (`tenant_id`,`conversation_id`,`checklist_id`);--> statement-breakpoint
CREATE INDEX `inspections_agent` ON `inspections` (`tenant_id`,`agent_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webchat_widget_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`allowed_origins` text NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webchat_widget_keys_tenant` ON `webchat_widget_keys` (`tenant_id`,`id`);