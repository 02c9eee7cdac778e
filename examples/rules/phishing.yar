/*
 * Spear-phishing lure indicators: urgent payment / account-verification wording combined with a
 * link or an attachment prompt. Written for the kensa examples (harmless text samples).
 */
rule Phishing_Invoice_Lure : phishing email
{
  meta:
    description = "Urgent invoice lure asking the reader to open an attachment or enable content"
    author = "kensa examples"
    severity = 2
    reviewed = true
  strings:
    $subj1 = "Subject: URGENT" nocase
    $subj2 = "overdue invoice" nocase
    $subj3 = "payment confirmation" nocase
    $ask1 = "enable content" nocase
    $ask2 = "enable editing" nocase
    $ask3 = "open the attached" nocase
    $ext = /attachment[^\n]{0,60}\.(docm|xlsm|zip|iso|html?)/ nocase
  condition:
    any of ($subj*) and (any of ($ask*) or $ext)
}

rule Phishing_Credential_Harvest : phishing email
{
  meta:
    description = "Account verification lure pointing to a look-alike login page"
    author = "kensa examples"
    severity = 3
  strings:
    $verify = "verify your account" nocase
    $suspend = "will be suspended" nocase
    $login = /https?:\/\/[a-z0-9.-]{3,40}\/(login|signin|verify)[a-z0-9\/?=&._-]{0,60}/ nocase
    $b64_pw = "password" base64
  condition:
    ($verify or $suspend) and ($login or $b64_pw)
}
