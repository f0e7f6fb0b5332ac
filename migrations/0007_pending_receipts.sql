CREATE TABLE `pending_receipts` (
	`provider` text NOT NULL,
	`provider_message_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`provider`, `provider_message_id`)
);
--> statement-breakpoint
CREATE INDEX `pending_receipts_received_idx` ON `pending_receipts` (`received_at`);