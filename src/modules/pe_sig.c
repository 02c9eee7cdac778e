/*
 * pe_sig.c - Authenticode certificates of the `pe` module, as YARA 4.2.3 reports them (its
 * OpenSSL PKCS#7 reader, before the authenticode-parser of 4.3): for each WIN_CERTIFICATE of
 * revision 2.0 / type PKCS_SIGNED_DATA in the security directory, every signer certificate of the
 * PKCS#7 SignedData becomes one signatures[] item with thumbprint (SHA-1 of the DER, lowercase
 * hex), issuer / subject (X509_NAME_oneline, at most 255 bytes), version (X.509 version + 1),
 * algorithm (long name) and algorithm_oid of the signature algorithm, serial (DER content bytes
 * as "aa:bb:..", only when 1..22 bytes), not_before / not_after (the time digits read as UTC,
 * ignoring any zone suffix). Certificates follow each other at offset end + (end % 8).
 */
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

#include "kensa.h"
#include "modules/pe.h"

static int set_note(int rc, int *nomem)
{
    if (rc == KS_ENOMEM)
        *nomem = 1;
    return rc;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The digits of an ASN1 UTCTime / GeneralizedTime as seconds since the epoch (zone ignored). */
static int64_t asn1_time(const ASN1_TIME *t)
{
    const unsigned char *s = ASN1_STRING_get0_data(t);
    int len = ASN1_STRING_length(t), i = 0;
    int64_t year = 0, f[5];
    char buf[32];
    if (!s || len <= 0)
        return 0;
    memset(buf, '0', sizeof buf);
    memcpy(buf, s, (size_t)(len < (int)sizeof buf ? len : (int)sizeof buf));
    if (ASN1_STRING_type(t) == V_ASN1_UTCTIME) {
        year = (buf[0] - '0') * 10 + (buf[1] - '0');
        if (year < 70)
            year += 100;
        year += 1900;
        i = 2;
    } else if (ASN1_STRING_type(t) == V_ASN1_GENERALIZEDTIME) {
        year = (buf[0] - '0') * 1000 + (buf[1] - '0') * 100 + (buf[2] - '0') * 10 + (buf[3] - '0');
        i = 4;
    } else {
        year = 1900;
    }
    for (int k = 0; k < 5; k++, i += 2)
        f[k] = (buf[i] - '0') * 10 + (buf[i + 1] - '0');
    /* timegm() normalises out-of-range fields; do the same arithmetic */
    int64_t mon = f[0] - 1, y = year + (mon >= 0 ? mon / 12 : (mon - 11) / 12);
    mon = ((mon % 12) + 12) % 12;
    return (days_from_civil(y, mon + 1, 1) + f[1] - 1) * 86400 + f[2] * 3600 + f[3] * 60 + f[4];
}

static void set_cert(ks_object *root, X509 *cert, int64_t idx, int *nomem)
{
    static const char hexd[] = "0123456789abcdef";
    char buf[256];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *aobj = NULL;
    const ASN1_INTEGER *serial;
    const char *ln;
    long long i = (long long)idx;

    if (X509_digest(cert, EVP_sha1(), md, &mdlen)) {
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        for (unsigned k = 0; k < mdlen; k++) {
            hex[2 * k] = hexd[md[k] >> 4];
            hex[2 * k + 1] = hexd[md[k] & 15];
        }
        set_note(obj_set_string(root, hex, 2 * (size_t)mdlen, "signatures[%lld].thumbprint", i),
                 nomem);
    }
    if (X509_NAME_oneline(X509_get_issuer_name(cert), buf, sizeof buf))
        set_note(obj_set_string(root, buf, strlen(buf), "signatures[%lld].issuer", i), nomem);
    if (X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf))
        set_note(obj_set_string(root, buf, strlen(buf), "signatures[%lld].subject", i), nomem);
    set_note(obj_set_int(root, X509_get_version(cert) + 1, "signatures[%lld].version", i), nomem);
    ln = OBJ_nid2ln(X509_get_signature_nid(cert));
    if (ln)
        set_note(obj_set_string(root, ln, strlen(ln), "signatures[%lld].algorithm", i), nomem);
    X509_get0_signature(NULL, &alg, cert);
    if (alg) {
        X509_ALGOR_get0(&aobj, NULL, NULL, alg);
        if (aobj && OBJ_obj2txt(buf, sizeof buf, aobj, 1) > 0)
            set_note(obj_set_string(root, buf, strlen(buf), "signatures[%lld].algorithm_oid", i),
                     nomem);
    }
    serial = X509_get0_serialNumber(cert);
    if (serial) {
        unsigned char *der = NULL;
        int dl = i2d_ASN1_INTEGER((ASN1_INTEGER *)serial, &der);
        if (dl > 0) {
            const unsigned char *p = der;
            long clen = 0;
            int tag = 0, cls = 0;
            int r = ASN1_get_object(&p, &clen, &tag, &cls, dl);
            if (!(r & 0x80) && clen > 0 && clen <= 22) {
                char hex[22 * 3];
                size_t k = 0;
                for (long j = 0; j < clen; j++) {
                    if (j)
                        hex[k++] = ':';
                    hex[k++] = hexd[p[j] >> 4];
                    hex[k++] = hexd[p[j] & 15];
                }
                set_note(obj_set_string(root, hex, k, "signatures[%lld].serial", i), nomem);
            }
        }
        OPENSSL_free(der);
    }
    set_note(obj_set_int(root, asn1_time(X509_get0_notBefore(cert)), "signatures[%lld].not_before",
                         i), nomem);
    set_note(obj_set_int(root, asn1_time(X509_get0_notAfter(cert)), "signatures[%lld].not_after",
                         i), nomem);
}

int pe_parse_certificates(pe_file *pe, ks_object *root)
{
    uint64_t de = pe_dir_entry(pe, 4), va, size, eod, wc;
    int64_t counter = 0;
    int nomem = 0;
    if (obj_set_int(root, 0, "number_of_signatures") == KS_ENOMEM)
        return KS_ENOMEM;
    if (!de)
        return 0;
    va = pe_u32(pe, de);
    size = pe_u32(pe, de + 4);
    if (va == 0 || va > pe->n || size > pe->n || va + size > pe->n)
        return 0;
    eod = va + size;
    wc = va;
    while (pe_fits(pe, wc, 8) && wc + 8 <= eod && !nomem) {
        uint32_t len = pe_u32(pe, wc);
        uint32_t rev = pe_u16(pe, wc + 4), type = pe_u16(pe, wc + 6);
        uint64_t end;
        if (wc + len > eod)
            break;
        if (len == 0 || (rev != 0x0100 && rev != 0x0200))
            break;
        if (rev == 0x0200 && type == 2) {
            BIO *bio;
            PKCS7 *p7;
            STACK_OF(X509) *signers;
            if (len < 8)
                break;
            bio = BIO_new_mem_buf(pe->d + wc + 8, (int)(len - 8));
            if (!bio)
                break;
            p7 = d2i_PKCS7_bio(bio, NULL);
            signers = p7 ? PKCS7_get0_signers(p7, NULL, 0) : NULL;
            if (!signers) {
                BIO_free(bio);
                PKCS7_free(p7);
                break;
            }
            for (int k = 0; k < sk_X509_num(signers); k++)
                set_cert(root, sk_X509_value(signers, k), counter++, &nomem);
            sk_X509_free(signers);
            PKCS7_free(p7);
            BIO_free(bio);
        }
        end = wc + len;
        wc = end + (end % 8);
    }
    ERR_clear_error();
    if (obj_set_int(root, counter, "number_of_signatures") == KS_ENOMEM || nomem)
        return KS_ENOMEM;
    return 0;
}
