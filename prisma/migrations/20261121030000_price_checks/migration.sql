-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "price_checks" INTEGER NOT NULL DEFAULT 0;
