CREATE TABLE `dashboard_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`user_version` integer NOT NULL,
	`csrf` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `dashboard_sessions_user` ON `dashboard_sessions` (`user_id`);--> statement-breakpoint
CREATE INDEX `dashboard_sessions_expiry` ON `dashboard_sessions` (`expires_at`);--> statement-breakpoint
CREATE TABLE `sign_in_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account` text NOT NULL,
	`address` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sign_in_attempts_account` ON `sign_in_attempts` (`account`,`at`);--> statement-breakpoint
CREATE INDEX `sign_in_attempts_address` ON `sign_in_attempts` (`address`,`at`);--> statement-breakpoint
ALTER TABLE `users` ADD `session_version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Written by hand (drizzle-kit does not generate triggers). Every update of a user's row that does
-- not set session_version itself counts it up, which ends that user's dashboard sessions
-- (services/dashboard-auth), whoever changes the row: a service or an operator's SQL. One statement
-- in the body and upper-case BEGIN/END: the shape wrangler's and D1's statement splitters keep whole.
CREATE TRIGGER `users_session_version` AFTER UPDATE ON `users`
WHEN NEW.`session_version` = OLD.`session_version`
BEGIN
  UPDATE `users` SET `session_version` = OLD.`session_version` + 1 WHERE `id` = NEW.`id`;
END;
