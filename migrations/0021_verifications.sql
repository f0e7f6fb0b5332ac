CREATE TABLE `verification_messages` (
	`message_id` text PRIMARY KEY NOT NULL,
	`verification_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`masked_body` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `verification_messages_tenant` ON `verification_messages` (`tenant_id`,`created_at`);--> statement-breakpoint
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
CREATE INDEX `verifications_message` ON `verifications` (`message_id`);--> statement-breakpoint
-- A message that carried a verification code keeps only its masked text once it is final.
CREATE TRIGGER `verification_message_masked` AFTER UPDATE OF `status` ON `messages`
WHEN NEW.`status` IN ('delivered', 'undelivered', 'failed', 'canceled', 'expired')
  AND (NEW.`kind` = 'verification' OR NEW.`channel` = 'wechat')
  AND EXISTS (SELECT 1 FROM `verification_messages` WHERE `message_id` = NEW.`id`)
BEGIN
  UPDATE `messages` SET `body` = (
    SELECT `masked_body` FROM `verification_messages` WHERE `message_id` = NEW.`id`
  ) WHERE `id` = NEW.`id`;
END;
