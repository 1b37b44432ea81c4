package com.example.authcore.app.authenticator

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateMapOf
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import com.example.authcore.Account
import com.example.authcore.core.ApprovalRequest
import com.example.authcore.core.OtpKind
import java.time.Instant

/** Pending requests on top, then push accounts and code accounts with live codes. */
@Composable
fun AccountListScreen(
    vm: AuthenticatorViewModel,
    error: String?,
    onScan: () -> Unit,
    onRequest: (ApprovalRequest) -> Unit,
) {
    val accounts by vm.accounts.collectAsStateWithLifecycle()
    val codes by vm.codes.collectAsStateWithLifecycle()
    val requests by vm.requests.collectAsStateWithLifecycle()
    val listening by vm.listening.collectAsStateWithLifecycle()
    // Recomposed each second with the codes: a request whose time is up leaves the list.
    val now = remember(codes) { Instant.now() }
    val hotpCodes = remember { mutableStateMapOf<String, String>() }

    LazyColumn(
        Modifier.fillMaxWidth().padding(16.dp),
        verticalArrangement = Arrangement.spacedBy(4.dp),
    ) {
        item {
            Button(onClick = onScan) { Text("Add account") }
            if (error != null) Text(error, color = MaterialTheme.colorScheme.error)
            if (!listening) TextButton(onClick = vm::listen) { Text("Try again") }
        }
        items(requests.filter { it.expiresAt.isAfter(now) }, key = { "request:" + it.id }) { request ->
            ListItem(
                headlineContent = { Text("Sign-in request") },
                supportingContent = { Text("${request.accountLabel} · ${request.context.app}") },
                modifier = Modifier.clickable { onRequest(request) },
            )
            HorizontalDivider()
        }
        items(accounts, key = { it.key() }) { account ->
            when (account) {
                is Account.Push -> ListItem(
                    headlineContent = { Text(account.account.label) },
                    supportingContent = { Text("Sign-in approvals") },
                )
                is Account.Otp -> {
                    val otp = account.account
                    val title = otp.issuer?.let { "$it: ${otp.name}" } ?: otp.name
                    when (otp.kind) {
                        is OtpKind.Totp -> {
                            val code = codes[otp.id]
                            ListItem(
                                headlineContent = { Text(title) },
                                supportingContent = {
                                    Text(code?.code ?: "", fontFamily = FontFamily.Monospace, style = MaterialTheme.typography.headlineSmall)
                                },
                                trailingContent = { code?.let { Text("${it.secondsLeft}s") } },
                            )
                        }
                        is OtpKind.Hotp -> ListItem(
                            headlineContent = { Text(title) },
                            supportingContent = {
                                Text(hotpCodes[otp.id] ?: "", fontFamily = FontFamily.Monospace, style = MaterialTheme.typography.headlineSmall)
                            },
                            trailingContent = {
                                TextButton(onClick = { vm.nextHotpCode(otp.id) { hotpCodes[otp.id] = it } }) { Text("Next code") }
                            },
                        )
                    }
                }
            }
            HorizontalDivider()
        }
    }
}

private fun Account.key(): String = when (this) {
    is Account.Push -> "push:" + account.deviceId
    is Account.Otp -> "otp:" + account.id
}
