CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`key_hash` text NOT NULL,
	`mode` text NOT NULL,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant_idx` ON `api_keys` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `message_attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`message_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`provider` text NOT NULL,
	`outcome` text NOT NULL,
	`reason` text,
	`provider_message_id` text,
	`latency_ms` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `message_attempts_message_attempt_unique` ON `message_attempts` (`message_id`,`attempt`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`channel` text NOT NULL,
	`recipient` text NOT NULL,
	`sender` text,
	`body` text NOT NULL,
	`metadata` text,
	`mode` text NOT NULL,
	`status` text NOT NULL,
	`status_reason` text,
	`segments` integer NOT NULL,
	`encoding` text NOT NULL,
	`provider` text,
	`provider_message_id` text,
	`idempotency_key` text,
	`attempt_count` integer DEFAULT 0 NOT NULL,
	`claim_id` text,
	`claimed_until` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`sent_at` integer,
	`completed_at` integer
);
--> statement-breakpoint
CREATE INDEX `messages_tenant_idx` ON `messages` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `messages_tenant_status_idx` ON `messages` (`tenant_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `messages_tenant_recipient_idx` ON `messages` (`tenant_id`,`recipient`,`id`);--> statement-breakpoint
CREATE INDEX `messages_provider_ref_idx` ON `messages` (`provider`,`provider_message_id`);--> statement-breakpoint
CREATE TABLE `provider_settings` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`provider` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`config` text NOT NULL,
	`secret_ciphertext` text,
	`hook_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `provider_settings_hook_token_unique` ON `provider_settings` (`hook_token`);--> statement-breakpoint
CREATE UNIQUE INDEX `provider_settings_tenant_provider_unique` ON `provider_settings` (`tenant_id`,`provider`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`home_country` text NOT NULL,
	`allowed_countries` text NOT NULL,
	`send_rate` integer DEFAULT 50 NOT NULL,
	`signature` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`email` text NOT NULL,
	`password_hash` text NOT NULL,
	`role` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);