package com.example.authcore.app

import android.Manifest
import android.content.Intent
import android.os.Build
import android.os.Bundle
import androidx.activity.compose.setContent
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Tab
import androidx.compose.material3.TabRow
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.fragment.app.FragmentActivity
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import com.example.authcore.app.authenticator.AuthenticatorScreen
import com.example.authcore.app.push.ApprovalNotifications
import com.example.authcore.app.signin.SignInScreen

/**
 * Two tabs: "Sign in" (this device signs in to the server) and "Authenticator" (this phone
 * approves sign-ins and shows codes). A FragmentActivity so BiometricPrompt can show over it.
 */
class MainActivity : FragmentActivity() {
    /** The request id of the notification that opened us (FCM data: request_id). */
    private var openedRequest by mutableStateOf<String?>(null)

    private val askNotifications =
        registerForActivityResult(ActivityResultContracts.RequestPermission()) { /* either answer is fine */ }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = application as AuthcoreApp
        app.verification.attach(this)
        openedRequest = ApprovalNotifications.requestId(intent)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
            askNotifications.launch(Manifest.permission.POST_NOTIFICATIONS)
        }
        setContent {
            MaterialTheme {
                var tab by rememberSaveable { mutableIntStateOf(0) }
                LaunchedEffect(openedRequest) { if (openedRequest != null) tab = 1 }
                Scaffold(modifier = Modifier.fillMaxSize()) { padding ->
                    Column(Modifier.padding(padding)) {
                        TabRow(selectedTabIndex = tab) {
                            Tab(selected = tab == 0, onClick = { tab = 0 }, text = { Text("Sign in") })
                            Tab(selected = tab == 1, onClick = { tab = 1 }, text = { Text("Authenticator") })
                        }
                        val client by app.client.collectAsStateWithLifecycle()
                        val authenticator by app.authenticator.collectAsStateWithLifecycle()
                        when (tab) {
                            0 -> WhenBuilt(client, app::rebuild) { SignInScreen(it) }
                            else -> WhenBuilt(authenticator, app::rebuild) {
                                AuthenticatorScreen(
                                    it,
                                    openedRequest = openedRequest,
                                    onRequestShown = { openedRequest = null },
                                )
                            }
                        }
                    }
                }
            }
        }
    }

    /** [content] once the object is built; meanwhile a spinner, after a failure its sentence. */
    @Composable
    private fun <T> WhenBuilt(built: Built<T>, retry: () -> Unit, content: @Composable (T) -> Unit) {
        when (built) {
            is Built.Ready -> content(built.value)
            Built.Building -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
            is Built.Failed -> Column(Modifier.padding(16.dp)) {
                Text(built.message, color = MaterialTheme.colorScheme.error)
                Button(onClick = retry) { Text("Try again") }
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        ApprovalNotifications.requestId(intent)?.let { openedRequest = it }
    }
}
