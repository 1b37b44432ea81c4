package com.example.authcore.app.authenticator

import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import com.example.authcore.core.ApprovalRequest
import com.example.authcore.Authenticator

/** Where the authenticator tab is: the list, the scanner, manual entry, or one request. */
private sealed interface Page {
    data object Accounts : Page
    data object Scan : Page
    data object Manual : Page
    data class Approval(val request: ApprovalRequest) : Page
}

@Composable
fun AuthenticatorScreen(
    authenticator: Authenticator,
    openedRequest: String?,
    onRequestShown: () -> Unit,
    vm: AuthenticatorViewModel = viewModel { AuthenticatorViewModel(authenticator) },
) {
    var page by remember { mutableStateOf<Page>(Page.Accounts) }
    val error by vm.error.collectAsStateWithLifecycle()
    val busy by vm.busy.collectAsStateWithLifecycle()
    val toList = { page = Page.Accounts }

    // Opened from a notification: show that request (if it is still pending).
    LaunchedEffect(openedRequest) {
        val id = openedRequest ?: return@LaunchedEffect
        vm.open(id) { found -> if (found != null) page = Page.Approval(found) }
        onRequestShown()
    }

    when (val p = page) {
        Page.Accounts -> AccountListScreen(
            vm = vm,
            error = error,
            onScan = { vm.clearError(); page = Page.Scan },
            onRequest = { page = Page.Approval(it) },
        )
        Page.Scan -> ScanScreen(
            error = error,
            busy = busy,
            onScanned = { payload -> vm.scanned(payload, toList) },
            onCantScan = { vm.clearError(); page = Page.Manual },
            onClose = toList,
        )
        Page.Manual -> ManualEntryScreen(
            error = error,
            busy = busy,
            onActivate = { code, url -> vm.activateManually(code, url, toList) },
            onClose = toList,
        )
        is Page.Approval -> ApprovalScreen(
            request = p.request,
            error = error,
            busy = busy,
            onApprove = { number -> vm.approve(p.request, number, toList) },
            onDeny = { vm.deny(p.request, toList) },
            onReportFraud = { vm.reportFraud(p.request, toList) },
            onClose = toList,
        )
    }
}
