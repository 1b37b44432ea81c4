package com.example.authcore.app.signin

import android.graphics.Bitmap
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.text.selection.SelectionContainer
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import com.example.authcore.SignInState
import com.google.zxing.BarcodeFormat
import com.google.zxing.qrcode.QRCodeWriter

/**
 * The enrollment QR code for the authenticator to scan; under "Can't scan image?" the activation
 * code (grouped by the server: 7K3M-Q9XA-R2TD) and the server URL to type. Waits for the phone.
 */
@Composable
fun ActivateScreen(state: SignInState.ActivateAuthenticator, error: String?, vm: SignInViewModel) {
    var manual by rememberSaveable { mutableStateOf(false) }
    val qr = remember(state.qrPayload) { qrBitmap(state.qrPayload.expose(), 768) }
    SignInPage(
        "Scan the QR code",
        subtitle = "In the Authcore app on your phone, tap Add account and scan this code.",
        error = error,
        onBack = vm::cancel,
    ) {
        Text(state.label)
        Image(qr.asImageBitmap(), contentDescription = "Enrollment QR code", modifier = Modifier.size(256.dp))
        TextButton(onClick = { manual = !manual }) { Text("Can't scan image?") }
        if (manual) {
            SelectionContainer {
                Text(state.activationCode.expose(), style = MaterialTheme.typography.headlineMedium, fontFamily = FontFamily.Monospace)
            }
            SelectionContainer { Text(state.serverUrl) }
        }
    }
}

private fun qrBitmap(payload: String, size: Int): Bitmap {
    val matrix = QRCodeWriter().encode(payload, BarcodeFormat.QR_CODE, size, size)
    val pixels = IntArray(size * size) { i ->
        if (matrix[i % size, i / size]) android.graphics.Color.BLACK else android.graphics.Color.WHITE
    }
    return Bitmap.createBitmap(pixels, size, size, Bitmap.Config.ARGB_8888)
}
