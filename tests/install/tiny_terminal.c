/*
 * A terminal vendor's smallest program: built by tests/install/test_installed_lib.py against
 * the installed library with pkg-config only, so it may include nothing but the installed
 * headers.
 *
 *     tiny_terminal ENDPOINT SPOOL_DIR STORE TERMINAL
 *
 * Rings up one sale (2 x A1 at 2.50, paid cash), waits until the daemon acked it, and prints
 * "acked seq N". Exit status 0, or 1 with the fw_strerror() text on standard error.
 */
#include <floorwalker.h>
#include <stdio.h>

static int fail(const char *what, fw_err err)
{
    fprintf(stderr, "tiny_terminal: %s: %s (%d)\n", what, fw_strerror(err), (int)err);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: tiny_terminal ENDPOINT SPOOL_DIR STORE TERMINAL\n");
        return 2;
    }
    /* The public enum: FW_OK is 0, and the names are there. */
    if (FW_OK != 0 || fw_strerror(FW_ETIMEDOUT)[0] == '\0')
        return fail("floorwalker_err.h", FW_ESTATE);

    fw_client *c = NULL;
    fw_err err = fw_open(&c, argv[3], argv[4], argv[1], argv[2]);
    if (err != FW_OK)
        return fail("fw_open", err);

    Floorwalker__SaleLine line = FLOORWALKER__SALE_LINE__INIT;
    line.sku = "A1";
    line.qty_milli = 2000;
    line.unit_price_cents = 250;
    Floorwalker__SaleLine *lines[] = {&line};
    Floorwalker__Tender cash = FLOORWALKER__TENDER__INIT;
    cash.method = FLOORWALKER__TENDER__METHOD__CASH;
    cash.amount_cents = 500;
    Floorwalker__Tender *tenders[] = {&cash};
    Floorwalker__Sale sale = FLOORWALKER__SALE__INIT;
    sale.receipt_id = "R0001";
    sale.cashier_id = "K01";
    sale.kind = FLOORWALKER__SALE__KIND__SALE;
    sale.n_lines = 1;
    sale.lines = lines;
    sale.n_tenders = 1;
    sale.tenders = tenders;
    sale.total_cents = 500;

    if ((err = fw_send_sale(c, &sale, 0)) != FW_OK) {
        fw_close(&c);
        return fail("fw_send_sale", err);
    }
    if ((err = fw_flush(c, 20000)) != FW_OK) {
        fw_close(&c);
        return fail("fw_flush", err);
    }
    struct fw_client_stats st;
    fw_client_stats(c, &st);
    fw_close(&c);
    if (c != NULL)
        return fail("fw_close left the handle set", FW_ESTATE);
    printf("acked seq %llu rejected %llu\n", (unsigned long long)st.acked_seq,
           (unsigned long long)st.rejected);
    return 0;
}
