/*
 * VBA macro dropper indicators in exported macro source (olevba-style text dumps):
 * auto-run entry points plus download / execution primitives.
 */
rule VBA_AutoExec_Dropper : maldoc vba
{
  meta:
    description = "Auto-executing VBA macro that downloads and runs a payload"
    author = "kensa examples"
    severity = 3
  strings:
    $auto1 = "Sub AutoOpen" nocase
    $auto2 = "Sub Document_Open" nocase
    $auto3 = "Sub Workbook_Open" nocase
    $dl1 = "URLDownloadToFile" nocase
    $dl2 = "MSXML2.XMLHTTP" nocase
    $dl3 = "WinHttp.WinHttpRequest" nocase
    $exec1 = /\bShell\s*\(/ nocase
    $exec2 = "WScript.Shell" nocase
    $exec3 = "CreateObject(\"Shell.Application\")" nocase
    $hide = "vbHide" nocase
  condition:
    any of ($auto*) and any of ($dl*) and (any of ($exec*) or $hide)
}

rule VBA_Obfuscated_Strings : maldoc vba
{
  meta:
    description = "String-building obfuscation typical of macro droppers"
    author = "kensa examples"
    severity = 1
  strings:
    $chr = /(Chr[W$]?\(\d{2,3}\)\s*&\s*){4,}/ nocase
    $strrev = "StrReverse(" nocase
    $hexblob = { 22 34 44 ?? 35 41 }   // "4D?5A: a hex-encoded MZ header
  condition:
    #chr >= 1 or ($strrev and $hexblob)
}

rule PowerShell_Encoded_Command : maldoc script
{
  meta:
    description = "Hidden PowerShell started with an encoded command"
    author = "kensa examples"
  strings:
    $ps = "powershell" nocase ascii wide
    $enc = /\s-e(nc(odedcommand)?)?\s+[A-Za-z0-9+\/=]{16,}/ nocase
    $hidden = /-w(indowstyle)?\s+hidden/ nocase
  condition:
    $ps and $enc and $hidden
}
