PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_pending_receipts` (
	`provider` text NOT NULL,
	`provider_message_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `provider`, `provider_message_id`)
);
--> statement-breakpoint
INSERT INTO `__new_pending_receipts`("provider", "provider_message_id", "tenant_id", "status", "reason", "received_at") SELECT "provider", "provider_message_id", "tenant_id", "status", "reason", "received_at" FROM `pending_receipts`;--> statement-breakpoint
DROP TABLE `pending_receipts`;--> statement-breakpoint
ALTER TABLE `__new_pending_receipts` RENAME TO `pending_receipts`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `pending_receipts_received_idx` ON `pending_receipts` (`received_at`);