ALTER TABLE `messages` ADD `send_at` integer;--> statement-breakpoint
-- Messages logged before the column: as far as the send log knows, each was due when accepted.
UPDATE `messages` SET `send_at` = `created_at` WHERE `send_at` IS NULL;
