CREATE TABLE `wechat_sso_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`app_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`public_jwk` text NOT NULL,
	`private_ciphertext` text NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `wechat_sso_keys_current_unique` ON `wechat_sso_keys` (`app_id`) WHERE retired_at IS NULL;--> statement-breakpoint
CREATE INDEX `wechat_sso_keys_app_idx` ON `wechat_sso_keys` (`app_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `wechat_apps` ADD `sso_redirect_urls` text DEFAULT '[]' NOT NULL;