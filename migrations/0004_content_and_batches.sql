CREATE TABLE `batches` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`template_id` text,
	`template_version` integer,
	`kind` text NOT NULL,
	`accepted` integer NOT NULL,
	`rejected` integer NOT NULL,
	`send_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`canceled_at` integer
);
--> statement-breakpoint
CREATE INDEX `batches_tenant_idx` ON `batches` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `sensitive_words` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`word` text NOT NULL,
	`policy` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sensitive_words_tenant_word_unique` ON `sensitive_words` (`tenant_id`,`word`);--> statement-breakpoint
CREATE INDEX `sensitive_words_tenant_idx` ON `sensitive_words` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `signatures` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`review_reason` text,
	`reviewed_by` text,
	`submitted_at` integer,
	`reviewed_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `signatures_tenant_name_unique` ON `signatures` (`tenant_id`,`name`);--> statement-breakpoint
CREATE INDEX `signatures_tenant_idx` ON `signatures` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `template_versions` (
	`template_id` text NOT NULL,
	`version` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`body` text NOT NULL,
	`variables` text NOT NULL,
	`status` text NOT NULL,
	`review_reason` text,
	`reviewed_by` text,
	`submitted_at` integer,
	`reviewed_at` integer,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`template_id`, `version`),
	FOREIGN KEY (`template_id`) REFERENCES `templates`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `templates` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`latest_version` integer NOT NULL,
	`approved_version` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `templates_tenant_idx` ON `templates` (`tenant_id`,`id`);--> statement-breakpoint
ALTER TABLE `messages` ADD `batch_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `template_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `template_version` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `kind` text DEFAULT 'notification' NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `cost_micros` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_batch_status_idx` ON `messages` (`batch_id`,`status`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `currency` text DEFAULT 'USD' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `prices` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `quiet_hours` text;