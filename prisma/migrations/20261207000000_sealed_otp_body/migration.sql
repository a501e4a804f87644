-- An OTP's SMS text, with its code, sealed (AES-256-GCM, key from OTP_SECRET) while it waits to be sent;
-- the body column holds the text with the code masked. Cleared once the message is past sending.
ALTER TABLE "messages" ADD COLUMN "sealed_body" TEXT;
