ALTER TABLE `batches` ADD `mode` text DEFAULT 'live' NOT NULL;--> statement-breakpoint
-- A batch's messages all have its mode: batches sent with a test key before this migration are test ones.
UPDATE `batches` SET `mode` = 'test' WHERE EXISTS (SELECT 1 FROM `messages` WHERE `messages`.`batch_id` = `batches`.`id` AND `messages`.`mode` = 'test');
